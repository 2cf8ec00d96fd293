import type http from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { Socket } from 'node:net'
import { responseOn } from './node-http.js'

export type Request = http.IncomingMessage | Http2ServerRequest
export type Response = http.ServerResponse | Http2ServerResponse

/**
 * The requests in progress on one server, known by their responses.
 *
 * While the server runs an HTTP/1 request costs nothing: its socket names the response it is
 * writing (responseOn), so the responses in progress are read from the sockets when they are
 * needed, and tracking one by one starts with draining (`startTracking()`). The first request
 * confirms that its socket names it; HTTP/2 requests, and any runtime where that does not hold,
 * are tracked one by one from the start: a Set entry and one shared 'close' listener each.
 */
export class RequestsInProgress {
  readonly #responses = new Set<Response>()
  /** Shared by every tracked response ('close' fires once): `this` is the response. */
  readonly #onClose: (this: Response) => void
  /** Undefined before the first request; then whether requests are tracked while the server runs. */
  #trackedWhileRunning: boolean | undefined
  #tracking = false

  constructor (onClose: (this: Response) => void) {
    this.#onClose = onClose
  }

  /**
   * Whether `res` (a new request while the server runs) is to be tracked: decided on the first
   * request. `noLongerNeeded` runs once when the server's sockets turn out to name their responses.
   */
  trackedWhileRunning (req: Request, res: Response, noLongerNeeded: () => void): boolean {
    if (this.#trackedWhileRunning === undefined) {
      this.#trackedWhileRunning = !(req.httpVersionMajor < 2 && responseOn(req.socket as Socket) === res)
      if (!this.#trackedWhileRunning) noLongerNeeded()
    }
    return this.#trackedWhileRunning
  }

  /** Draining begins: every request is tracked from now on. Returns true when the request listener must come back. */
  startTracking (sockets: Iterable<Socket>): boolean {
    this.#tracking = true
    if (this.#trackedWhileRunning !== false) return false
    for (const socket of sockets) {
      const res = responseOn(socket)
      if (res) this.track(res)
    }
    return true
  }

  track (res: Response): void {
    this.#responses.add(res)
    ;(res as http.ServerResponse).on('close', this.#onClose)
  }

  has (res: Response): boolean {
    return this.#responses.has(res)
  }

  delete (res: Response): void {
    this.#responses.delete(res)
  }

  /**
   * The response that got `socket` after the one that just ended: a pipelined request received
   * before tracking began. Undefined when there is none or it is tracked already.
   */
  untrackedSuccessor (socket: Socket): http.ServerResponse | undefined {
    if (this.#trackedWhileRunning !== false) return undefined
    const next = responseOn(socket)
    return next && !this.#responses.has(next) ? next : undefined
  }

  /** The responses in progress now; while untracked, read from `sockets`. */
  * inProgress (sockets: Iterable<Socket>): Iterable<Response> {
    if (this.#tracking || this.#trackedWhileRunning !== false) return yield * this.#responses
    for (const socket of sockets) {
      const res = responseOn(socket)
      if (res) yield res
    }
  }
}
