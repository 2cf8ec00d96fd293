import type { DrainCounts, ListenerClose } from './contract.js'
import { type DrainableServer, onListenerClose } from './node-http.js'

/**
 * A node:http server's listener as the drain sees it: when it last accepted a connection (the
 * accept queue is taken for empty after a quiet moment, accept-queue.ts), the connections accepted
 * after the drain began (`acceptedWhileClosing`), and when it stopped accepting. A server has no
 * event for that ('close' waits for every connection), so its close() is watched (onListenerClose).
 */
export class ListenerWatch implements ListenerClose {
  /** performance.now() of the last accepted connection or HTTP/2 session. */
  lastAcceptAt = 0
  closedAt: number | undefined
  closedByOther = false
  readonly #counts: DrainCounts
  #countingLateAccepts = false
  readonly #unwrapClose: () => void

  /** `closedByDrain` says whether a close now is the drain's own; `onClosedByOther` hears of anyone else's. */
  constructor (server: DrainableServer, counts: DrainCounts, closedByDrain: () => boolean, onClosedByOther: () => void) {
    this.#counts = counts
    this.#unwrapClose = onListenerClose(server, () => {
      this.closedAt = performance.now()
      if (closedByDrain()) return
      // Someone else closed it (NestJS enableShutdownHooks(), a library's SIGTERM handler): not taken for ours.
      this.closedByOther = true
      onClosedByOther()
    })
  }

  /** A connection (or HTTP/2 session) was accepted. */
  accepted (): void {
    this.lastAcceptAt = performance.now()
    if (this.#countingLateAccepts) this.#counts.acceptedWhileClosing++
  }

  /** The drain began: connections accepted from now on are counted (acceptedWhileClosing). */
  countLateAccepts (): void {
    this.#countingLateAccepts = true
  }

  detach (): void {
    this.#unwrapClose()
  }
}
