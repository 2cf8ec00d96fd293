import { errorInfo } from './errors.js'
import type { HookTimeouts } from './budget.js'
import { raceTimeout } from './timing.js'
import { booleanOption, validateRegistration } from './validate.js'
import type { CleanupOptions, Hook, HookOptions, HookReport, Logger } from './types.js'

export interface RegisteredHook {
  readonly name: string
  readonly fn: Hook
  readonly timeoutMs: number
}

interface CleanupHook extends RegisteredHook {
  readonly afterPersist: boolean
  /** False for a door's own framework close: it takes no share of gracePeriodMs. */
  readonly budgeted: boolean
}

const sumTimeouts = (hooks: readonly RegisteredHook[]): number => hooks.reduce((sum, h) => sum + h.timeoutMs, 0)

/**
 * The cleanup and persist hooks, in the order they run: cleanups in reverse registration order, then
 * persist hooks in registration order, then the cleanups registered with `afterPersist` (reverse
 * order, a door's framework close last of all). Each runs under its timeout; a throw, a rejection
 * or a timeout is its outcome, and the next hook still runs.
 */
export class HookRegistry {
  readonly #cleanup: CleanupHook[] = []
  readonly #persist: RegisteredHook[] = []
  readonly #defaultTimeoutMs: number
  readonly #logger: Logger

  constructor (defaultTimeoutMs: number, logger: Logger) {
    this.#defaultTimeoutMs = defaultTimeoutMs
    this.#logger = logger
  }

  addCleanup (name: unknown, fn: unknown, options: CleanupOptions): void {
    const hook = this.#validate('onCleanup', ['timeoutMs', 'afterPersist'], this.#cleanup, name, fn, options)
    const afterPersist = booleanOption('onCleanup', hook.name, options as Record<string, unknown>, 'afterPersist') === true
    this.#cleanup.push({ ...hook, afterPersist, budgeted: true })
  }

  addPersist (name: unknown, fn: unknown, options: HookOptions): void {
    this.#persist.push(this.#validate('onPersist', ['timeoutMs'], this.#persist, name, fn, options))
  }

  /** A door's framework close: the very last cleanup, reserving no share of gracePeriodMs. */
  addFrameworkClose (name: unknown, fn: unknown): void {
    const hook = this.#validate('onCleanup', [], this.#cleanup, name, fn, {})
    this.#cleanup.unshift({ ...hook, afterPersist: true, budgeted: false })
  }

  /** The timeouts the hooks may use (see budget.ts). */
  timeouts (): HookTimeouts {
    const budgeted = this.#cleanup.filter((h) => h.budgeted)
    return {
      persistMs: sumTimeouts(this.#persist) + sumTimeouts(budgeted.filter((h) => h.afterPersist)),
      cleanupMs: sumTimeouts(budgeted.filter((h) => !h.afterPersist))
    }
  }

  /** The cleanup phase: each hook gets its timeout, at most what is left before `deadline` (performance clock). */
  async runCleanup (deadline: number, force: AbortSignal): Promise<HookReport[]> {
    const reports: HookReport[] = []
    for (const hook of this.#cleanup.filter((h) => !h.afterPersist).reverse()) {
      reports.push(await this.#run(hook, 'cleanup', Math.min(hook.timeoutMs, deadline - performance.now()), force))
    }
    return reports
  }

  /** The persist phase, then the cleanups that persistence still needed: each with its whole timeout. */
  async runPersist (force: AbortSignal): Promise<HookReport[]> {
    const reports: HookReport[] = []
    for (const hook of this.#persist) reports.push(await this.#run(hook, 'persist', hook.timeoutMs, force))
    for (const hook of this.#cleanup.filter((h) => h.afterPersist).reverse()) {
      reports.push(await this.#run(hook, 'cleanup', hook.timeoutMs, force))
    }
    return reports
  }

  #validate (method: string, keys: string[], existing: readonly RegisteredHook[], name: unknown, fn: unknown, options: unknown): RegisteredHook {
    const { timeoutMs, ...hook } = validateRegistration({ method, keys, taken: existing.map((h) => h.name), among: 'its phase\'s hooks' }, name, fn, options)
    return { name: hook.name, fn: fn as Hook, timeoutMs: timeoutMs ?? this.#defaultTimeoutMs }
  }

  /** Runs one hook; `force` (a second signal) skips it, or cuts it short like a timeout. */
  async #run (hook: RegisteredHook, phase: HookReport['phase'], timeoutMs: number, force: AbortSignal): Promise<HookReport> {
    const started = performance.now()
    const skipped = force.aborted
    const raced = await raceTimeout(hook.fn, timeoutMs, force, `${phase} hook '${hook.name}' is no longer awaited`)
    const report: HookReport = {
      name: hook.name,
      phase,
      outcome: skipped ? 'skipped' : raced.outcome === 'cut' ? 'timeout' : raced.outcome,
      durationMs: Math.round(performance.now() - started),
      ...(raced.outcome === 'error' ? { error: errorInfo(raced.error) } : {})
    }
    if (report.outcome !== 'ok') {
      this.#logger.warn({ hook: hook.name, phase, outcome: report.outcome, err: report.error },
        `${phase} hook ${report.outcome === 'error' ? 'failed' : report.outcome === 'timeout' ? 'timed out' : 'skipped'}`)
    }
    return report
  }
}
