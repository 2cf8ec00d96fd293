import { setTimeout as sleep } from 'node:timers/promises'
import { errorInfo } from './report.js'
import type { Hook, HookOutcome, HookReport } from './types.js'

export interface RegisteredHook {
  readonly name: string
  readonly fn: Hook
  readonly timeoutMs: number
}

/**
 * Runs one hook under its timeout. A throw, a rejection or a timeout becomes the outcome; nothing
 * escapes, so the caller can always go on with the next hook. A late result is ignored.
 * `force` (a second signal) cuts the wait short like a timeout.
 */
export async function runHook (hook: RegisteredHook, phase: HookReport['phase'], timeoutMs: number, force: AbortSignal): Promise<HookReport> {
  const started = performance.now()
  const finish = (outcome: HookOutcome, error?: unknown): HookReport => ({
    name: hook.name,
    phase,
    outcome,
    durationMs: Math.round(performance.now() - started),
    ...(error === undefined ? {} : { error: errorInfo(error) })
  })
  if (force.aborted) return finish('skipped')
  const cut = new AbortController()
  // The hook is told (through its signal) when we stop waiting for it, so it can stop its work too.
  const run = Promise.resolve()
    .then(() => hook.fn(cut.signal))
    .then(() => finish('ok'), (error: unknown) => finish('error', error))
  const stopWaiting = AbortSignal.any([cut.signal, force])
  const timeout = sleep(Math.max(0, timeoutMs), undefined, { signal: stopWaiting })
    .then(() => finish('timeout'), () => finish('timeout'))
  const report = await Promise.race([run, timeout])
  cut.abort(new Error(`${phase} hook '${hook.name}' ${report.outcome === 'ok' ? 'finished' : 'was cut'}`))
  return report
}
