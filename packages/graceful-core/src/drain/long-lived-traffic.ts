import type { Socket } from 'node:net'
import { endEventStream, endIfEventStream, isEventStream } from './event-streams.js'
import { type DrainableServer, isHttp1Server } from './node-http.js'
import type { Response } from './requests.js'
import { refuseUpgrades, watchUpgrades } from './upgrade-refusal.js'

/** What LongLivedTraffic tells its drainer. */
export interface LongLivedEvents {
  /** Node handed `socket` to the application on upgrade, or the drain refused its upgrade: it is no HTTP connection from now on. */
  readonly upgraded: (socket: Socket, refused: boolean) => void
  /** The drain ended an event stream. */
  readonly streamEnded: () => void
}

/**
 * A server's long-lived traffic: upgraded sockets (WebSocket) and event streams. Node hands an
 * upgraded socket to the application and forgets it, so closeAllConnections() never sees it: it
 * is kept here until it closes, and destroyed at the deadline. A refused upgrade's socket (503
 * while draining) is awaited the same way.
 */
export class LongLivedTraffic {
  readonly upgraded = new Set<Socket>()
  readonly #server: DrainableServer
  readonly #events: LongLivedEvents
  readonly #unwatchUpgrades: () => void
  /** Set by end(): event streams are ended, upgrades refused; the function undoes the refusal. */
  #ended: (() => void) | undefined

  constructor (server: DrainableServer, events: LongLivedEvents) {
    this.#server = server
    this.#events = events
    this.#unwatchUpgrades = isHttp1Server(server) ? watchUpgrades(server, (_req, socket) => { this.#keep(socket, false) }) : () => {}
  }

  /**
   * The drain begins: upgrade requests get 503; each event stream of `inProgress` is handed to
   * `spread`, which ends it with a `retry:` hint when its turn comes; those that start from now on
   * end at once (requestStarted()).
   */
  end (inProgress: Iterable<Response>, spread: (stream: Response, end: () => void) => void): void {
    if (this.#ended) return
    this.#ended = isHttp1Server(this.#server)
      ? refuseUpgrades(this.#server, (socket) => { this.#keep(socket, true) })
      : () => {}
    for (const res of inProgress) {
      if (!res.headersSent) endIfEventStream(res, this.#events.streamEnded)
      else if (isEventStream(res)) spread(res, () => { if (endEventStream(res)) this.#events.streamEnded() })
    }
  }

  /** A request began: after end(), an event stream ends at once. */
  requestStarted (res: Response): void {
    if (this.#ended) endIfEventStream(res, this.#events.streamEnded)
  }

  /** Upgraded sockets not destroyed yet. */
  get open (): number {
    let open = 0
    for (const socket of this.upgraded) if (!socket.destroyed) open++
    return open
  }

  detach (): void {
    this.#unwatchUpgrades()
    this.#ended?.()
  }

  #keep (socket: Socket, refused: boolean): void {
    this.upgraded.add(socket)
    this.#events.upgraded(socket, refused)
  }
}
