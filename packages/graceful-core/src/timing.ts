import { setTimeout as sleep } from 'node:timers/promises'

/** Waits until a moment on the performance clock, or until `cut` aborts. */
export async function sleepUntil (at: number, cut: AbortSignal): Promise<void> {
  const ms = at - performance.now()
  if (ms <= 0 || cut.aborted) return
  await sleep(ms, undefined, { signal: cut }).catch(() => {})
}

/** True when `work` settled before the deadline (performance clock) and `cut` did not abort the wait. */
export async function settledBefore (work: Promise<unknown>, deadline: number, cut: AbortSignal): Promise<boolean> {
  const stop = new AbortController()
  const done = work.then(() => true)
  const timeUp = sleep(Math.max(0, deadline - performance.now()), false, { signal: AbortSignal.any([stop.signal, cut]) })
    .catch(() => false)
  const finished = await Promise.race([done, timeUp])
  stop.abort()
  return finished && !cut.aborted
}
