import { setTimeout as sleep } from 'node:timers/promises'

/** A moment on the performance clock as whole milliseconds from `t0` (the signal): the report's `startMs`. */
export const msFrom = (t0: number, at: number): number => Math.max(0, Math.round(at - t0))

/**
 * Waits until a moment on the performance clock, or until `force` aborts. A timer counts from the
 * event loop's cached time, which a busy tick leaves behind the clock: one can fire a few
 * milliseconds early, so the wait goes on for what is left.
 */
export async function sleepUntil (at: number, force: AbortSignal): Promise<void> {
  for (let ms = at - performance.now(); ms > 0 && !force.aborted; ms = at - performance.now()) {
    await sleep(Math.ceil(ms), undefined, { signal: force }).catch(() => {})
  }
}

/** How work run under a timeout ended: `aborted` when the caller's own signal stopped the wait first. */
export type Raced<T> =
  | { readonly outcome: 'ok', readonly value: T }
  | { readonly outcome: 'error', readonly error: unknown }
  | { readonly outcome: 'timeout' | 'aborted' }

/**
 * The one timeout race of graceful (hooks, readiness checks, startup tasks, the drain's wait): runs
 * `work` with a signal that aborts when the wait ends, and resolves with how it ended. A throw, sync
 * or async, is an outcome; nothing escapes, and a late result is ignored. `abort` (a second signal,
 * shutdown beginning) ends the wait early. No timer outlives the race.
 */
export async function raceTimeout<T> (work: (signal: AbortSignal) => T | PromiseLike<T>, timeoutMs: number, abort?: AbortSignal, reason = 'timed out'): Promise<Raced<Awaited<T>>> {
  const stop = new AbortController()
  const signal = abort === undefined ? stop.signal : AbortSignal.any([stop.signal, abort])
  if (abort?.aborted === true) return { outcome: 'aborted' }
  let timer: NodeJS.Timeout | undefined
  let onCut: (() => void) | undefined
  const ended = new Promise<Raced<Awaited<T>>>((resolve) => {
    timer = setTimeout(() => resolve({ outcome: 'timeout' }), Math.max(0, timeoutMs))
    onCut = () => resolve({ outcome: 'aborted' })
    abort?.addEventListener('abort', onCut, { once: true })
  })
  // A function starts at once; a synchronous throw becomes a rejection.
  const ran = new Promise<T>((resolve) => { resolve(work(signal)) }).then(
    (value): Raced<Awaited<T>> => ({ outcome: 'ok', value: value as Awaited<T> }),
    (error: unknown): Raced<Awaited<T>> => ({ outcome: 'error', error })
  )
  const result = await Promise.race([ran, ended])
  clearTimeout(timer)
  if (onCut !== undefined) abort?.removeEventListener('abort', onCut)
  // Work that outlived the wait is told that nobody waits for it any more, so it can stop too.
  // Work that settled keeps its signal: a startup task may hand it to what it started.
  if (result.outcome === 'timeout' || result.outcome === 'aborted') stop.abort(new Error(reason))
  return result
}
