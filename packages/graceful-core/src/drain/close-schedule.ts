import type { Socket } from 'node:net'
import { announceCloseOn, type DrainableServer, keptAliveIdleMs, saidClose } from './node-http.js'
import type { Response } from './requests.js'
import { shuffle } from './shuffle.js'

/**
 * When an HTTP/1 response announces `Connection: close` during a shutdown. From the signal
 * (keepNewConnections()) each connection open then leaves once, through its first response after
 * its turn: the turns come in random order, evenly over the pre-stop's minimum (the first at once),
 * so the reconnects do not all come at once (over TLS, a burst of handshakes) and those after the
 * load balancer caught up go to another instance instead of straight back here (the connections
 * busy at the signal take the first turns). The connections
 * accepted during pre-stop stay keep-alive until the drain begins (closeAll()), from when every
 * response announces the close: a client that reconnects to this instance while its load balancer
 * has not caught up does not pay a new connection (a TLS handshake) per request. Without
 * `keepAliveInPreStop` (a cluster worker, a socket-activated service: platform/host.ts) every
 * response announces the close from the signal on.
 */
export class CloseSchedule {
  readonly #server: DrainableServer
  readonly #keepAliveInPreStop: boolean
  /** HTTP/1 sockets accepted during pre-stop. */
  readonly #acceptedInPreStop = new WeakSet<Socket>()
  /** Sockets open at the signal: the moment (performance clock) from which a response of theirs announces the close. */
  readonly #turns = new WeakMap<Socket, number>()
  /** True during pre-stop: the connections accepted now are kept alive. */
  #keeping = false

  constructor (server: DrainableServer, keepAliveInPreStop: boolean) {
    this.#server = server
    this.#keepAliveInPreStop = keepAliveInPreStop
  }

  /**
   * Pre-stop began: connections accepted from now on are kept alive until closeAll(); those open
   * now take their turns to leave over `spreadMs` (0: each through its next response), the ones
   * with a request in flight (`busy`) first, so a lone request in flight leaves through its response.
   */
  keepNewConnections (spreadMs = 0, busy: Iterable<Socket> = [], idle: Iterable<Socket> = []): void {
    this.#keeping = this.#keepAliveInPreStop
    if (!this.#keeping || spreadMs <= 0) return
    const sockets = [...shuffle([...busy]), ...shuffle([...idle])]
    const start = performance.now()
    sockets.forEach((socket, i) => { this.#turns.set(socket, start + (spreadMs * i) / sockets.length) })
  }

  /** The drain began: every response from now on announces the close. */
  closeAll (): void {
    this.#keeping = false
  }

  /** A connection was accepted (after the signal). */
  accepted (socket: Socket): void {
    if (this.#keeping) this.#acceptedInPreStop.add(socket)
  }

  /** Sets `Connection: close` on an HTTP/1 response, unless its socket is kept alive through pre-stop. */
  announceOn (res: Response): void {
    const socket = res.req.socket as Socket
    if (this.#keeping && (this.#acceptedInPreStop.has(socket) || performance.now() < (this.#turns.get(socket) ?? 0))) return
    announceCloseOn(res)
  }

  /**
   * How long the socket of an ended response may stay idle before the drain ends it: a response
   * that kept its socket alive through pre-stop (accepted then, or open at the signal before its
   * turn) leaves it idle for KEPT_ALIVE_IDLE_MS, undefined for any other. Judged by what the
   * response said, not by the phase now: its client took a keep-alive head, written before the
   * drain began, as leave to send again.
   */
  idleMsAfter (res: Response): number | undefined {
    const socket = res.req.socket as Socket
    const keptAlive = (this.#acceptedInPreStop.has(socket) || this.#turns.has(socket)) && !saidClose(res)
    return keptAlive ? keptAliveIdleMs(this.#server) : undefined
  }
}
