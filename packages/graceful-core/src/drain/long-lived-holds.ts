import { invalid, isThenable } from '../validate.js'

/**
 * Work a long-lived connection is in the middle of (a message being written, a frame being sent):
 * its spread close waits for that work to settle, so the client never sees a close in the middle of
 * a message. Bounded by the spread (LongLivedSpread passes the moment holds stop counting), so no
 * hold keeps the shutdown past its deadline.
 */
export class LongLivedHolds {
  readonly #held = new WeakMap<object, Set<PromiseLike<unknown>>>()

  /** The close of `connection` waits for `work` to settle (resolve or reject). */
  hold (connection: object, work: PromiseLike<unknown>): void {
    if (typeof connection !== 'object' || connection === null) {
      throw invalid('holdLongLived(connection)', 'a WebSocket or an event stream\'s response object', connection)
    }
    if (!isThenable(work)) throw invalid('holdLongLived(connection, work)', 'a promise that settles when the message is written', work)
    let pending = this.#held.get(connection)
    if (pending === undefined) this.#held.set(connection, pending = new Set())
    pending.add(work)
    const release = (): void => {
      pending.delete(work)
      if (pending.size === 0 && this.#held.get(connection) === pending) this.#held.delete(connection)
    }
    work.then(release, release)
  }

  isHeld (connection: object): boolean {
    return this.#held.has(connection)
  }

  /**
   * Resolves `true` once `connection` has no work left (work added while waiting counts too), or
   * `false` when `expired` resolves first.
   */
  async released (connection: object, expired: Promise<void>): Promise<boolean> {
    const timedOut = expired.then(() => false)
    for (let pending = this.#held.get(connection); pending !== undefined; pending = this.#held.get(connection)) {
      const settled = Promise.allSettled([...pending]).then(() => true)
      if (!await Promise.race([settled, timedOut])) return false
    }
    return true
  }
}
