import { LongLivedHolds } from './long-lived-holds.js'
import { shuffle } from './shuffle.js'
import type { Drainer } from './contract.js'
import type { WebSocketCloser } from './websockets.js'

/** Closes go out in batches this far apart: fine enough to look even to the instances that take the reconnects, few timers. */
const BATCH_INTERVAL_MS = 20
/**
 * After a late turn the closes catch up, but never faster than this many times the even rate within
 * any RATE_SPAN_MS: the instances that take the reconnects see at most a 1.5× peak, and a loop that
 * stays late still ends the spread about when the window ends.
 */
const CATCH_UP_RATE = 1.5
/** The span the catch-up rate is measured over: the span the reconnect peaks are judged by. */
const RATE_SPAN_MS = 100
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
 * instances that remain take them at an even rate instead of all in the same instant. A turn of the
 * event loop that comes late sends what is due by the clock, within the catch-up rate.
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
    // Batch i is planned at start + i × interval (the first at once); a turn sends every close whose
    // batch is due by the clock, so a late turn catches up instead of stretching the window.
    const batches = Math.max(1, Math.min(queue.length, Math.floor(windowMs / BATCH_INTERVAL_MS)))
    const intervalMs = windowMs / batches
    const batchAt = (now: number): number => intervalMs > 0 ? Math.floor((now - start) / intervalMs) : batches
    const dueBy = (now: number): number => Math.min(queue.length, Math.floor(((batchAt(now) + 1) * queue.length) / batches))
    // A window shorter than the span gets the whole queue per span: all at once stays all at once.
    const limit = new SlidingLimit(Math.ceil((CATCH_UP_RATE * queue.length * RATE_SPAN_MS) / Math.max(windowMs, RATE_SPAN_MS)), RATE_SPAN_MS)
    let sent = 0
    const send = (count: number): void => {
      for (const end = sent + count; sent < end;) this.#close(queue[sent++] as Closing, holdsExpire)
    }
    const turn = (): void => {
      const now = performance.now()
      const due = dueBy(now)
      const count = Math.min(due - sent, limit.room(now))
      send(count)
      if (sent >= queue.length) return
      // Counted once sent, so the span starts after the last close of this turn went out.
      if (count > 0) limit.record(performance.now(), count)
      // Held back by the limit: again once room frees; otherwise at the next planned batch. Whatever
      // is left when the holds end goes then, so its closes still complete before the deadline.
      const next = sent < due ? limit.freesAt() : start + (batchAt(now) + 1) * intervalMs
      if (next < holdsEnd) this.#at(next, turn)
      else this.#at(holdsEnd, () => { send(queue.length - sent) })
    }
    turn()
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

/** At most `limit` sends within any `spanMs`: the sends still inside the span, oldest first. */
class SlidingLimit {
  readonly #sends: Array<{ at: number, count: number }> = []
  #inSpan = 0

  constructor (readonly limit: number, readonly spanMs: number) {}

  /** How many may go at `now`. */
  room (now: number): number {
    for (let oldest = this.#sends[0]; oldest !== undefined && oldest.at <= now - this.spanMs; oldest = this.#sends[0]) {
      this.#sends.shift()
      this.#inSpan -= oldest.count
    }
    return Math.max(0, this.limit - this.#inSpan)
  }

  record (at: number, count: number): void {
    this.#sends.push({ at, count })
    this.#inSpan += count
  }

  /** When room grows next: the oldest send inside the span leaves it. */
  freesAt (): number {
    return (this.#sends[0]?.at ?? 0) + this.spanMs
  }
}
