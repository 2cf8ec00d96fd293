import { LongLivedHolds } from './long-lived-holds.js'
import type { Drainer } from './contract.js'
import type { WebSocketCloser } from './websockets.js'

/** Closes go out in batches this far apart: fine enough to look even to the instances that take the reconnects, few timers. */
const BATCH_INTERVAL_MS = 20
/**
 * The spread takes at most this share of the drain time left, so the last clients still have time
 * for their close handshake (budget.ts plans the same share of the least drain time, and warns).
 */
export const SPREAD_MAX_SHARE = 1 / 2
/** A close held by its connection's work goes out at the latest once this share of the drain time has passed. */
const HOLD_END_SHARE = 3 / 4

export interface LongLivedOptions {
  /** The configured window; the drain time left may shorten it. */
  readonly spreadMs: number
  /** The close code WebSockets get. */
  readonly closeCode: number
}

export interface SpreadCounts {
  /** The window the closes were spread over (0: all at once). */
  windowMs: number
  /** Closes that waited for work registered with holdLongLived(). */
  held: number
  /** ...of which the hold was cut because it lasted too long. */
  holdsExpired: number
}

/** One long-lived connection and how to close it. */
interface Closing {
  readonly connection: object
  readonly close: () => void
}

/**
 * Closes the long-lived connections (WebSockets and event streams) when the drain begins, in random
 * order, in batches spread evenly over the window: their clients reconnect at once, and the
 * instances that remain take them at an even rate instead of all in the same instant.
 */
export class LongLivedSpread {
  readonly holds = new LongLivedHolds()
  readonly counts: SpreadCounts = { windowMs: 0, held: 0, holdsExpired: 0 }
  readonly #options: LongLivedOptions
  readonly #timers = new Set<NodeJS.Timeout>()

  constructor (options: LongLivedOptions) {
    this.#options = options
  }

  /** Starts the closes of every open WebSocket and event stream; the first batch goes at once. `deadline` is the drain's (performance clock). */
  begin (drainers: readonly Drainer[], webSockets: WebSocketCloser, deadline: number): void {
    const start = performance.now()
    const drainMs = Math.max(0, deadline - start)
    const queue: Closing[] = []
    const enqueue = (connection: object, close: () => void): void => { queue.push({ connection, close }) }
    for (const drainer of drainers) drainer.endLongLived(enqueue)
    webSockets.closeAll(this.#options.closeCode, enqueue)
    shuffle(queue)
    const windowMs = Math.min(this.#options.spreadMs, drainMs * SPREAD_MAX_SHARE)
    this.counts.windowMs = Math.round(windowMs)
    const holdsEnd = start + drainMs * HOLD_END_SHARE
    const holdsExpire = new Promise<void>((resolve) => { this.#at(holdsEnd, resolve) })
    const batches = Math.max(1, Math.min(queue.length, Math.floor(windowMs / BATCH_INTERVAL_MS)))
    const intervalMs = windowMs / batches
    const send = (from: number, to: number): void => {
      const batch = queue.slice(Math.floor((from * queue.length) / batches), Math.floor((to * queue.length) / batches))
      for (const closing of batch) this.#close(closing, holdsExpire)
    }
    const runBatch = (i: number): void => {
      send(i, i + 1)
      if (i + 1 >= batches) return
      // One batch per timer: after a stall of the event loop the late batches catch up at twice the
      // rate instead of all in one burst; whatever is left when the holds end goes then.
      const at = Math.max(start + (i + 1) * intervalMs, performance.now() + intervalMs / 2)
      if (at < holdsEnd) this.#at(at, () => { runBatch(i + 1) })
      else this.#at(holdsEnd, () => { send(i + 1, batches) })
    }
    runBatch(0)
  }

  /** The deadline came (or a second signal): no close is sent any more; what is left is terminated. */
  stop (): void {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
  }

  #close ({ connection, close }: Closing, holdsExpire: Promise<void>): void {
    if (!this.holds.isHeld(connection)) return close()
    this.counts.held++
    void this.holds.released(connection, holdsExpire).then((released) => {
      if (!released) this.counts.holdsExpired++
      close()
    })
  }

  /** Runs `fn` at `moment` (performance clock); unref'd: a close of a connection already gone must not hold the process. */
  #at (moment: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      fn()
    }, Math.max(0, moment - performance.now())).unref()
    this.#timers.add(timer)
  }
}

/** Fisher–Yates: every order equally likely, so no client is always among the first closed. */
function shuffle<T> (items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const item = items[i] as T
    items[i] = items[j] as T
    items[j] = item
  }
}
