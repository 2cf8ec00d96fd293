import { errorInfo } from './errors.js'
import type { HookTimeouts } from './budget.js'
import { PHASE_LABELS } from './report.js'
import { msFrom, raceTimeout } from './timing.js'
import { booleanOption, validateRegistration } from './validate.js'
import type { CleanupOptions, Hook, HookOptions, HookPhase, HookReport, Logger } from './types.js'

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

  /**
   * The cleanup phase: each hook gets its timeout, at most what is left before `deadline`. `t0` and
   * `deadline` are on the performance clock; `t0` (the signal) is what each report's `startMs` counts from.
   */
  async runCleanup (t0: number, deadline: number, force: AbortSignal): Promise<HookReport[]> {
    const reports: HookReport[] = []
    for (const hook of this.#cleanup.filter((h) => !h.afterPersist).reverse()) {
      reports.push(await this.#run(hook, 'cleanup', t0, Math.min(hook.timeoutMs, deadline - performance.now()), force))
    }
    return reports
  }

  /** The persist phase: each hook with its whole timeout. */
  async runPersist (t0: number, force: AbortSignal): Promise<HookReport[]> {
    const reports: HookReport[] = []
    for (const hook of this.#persist) reports.push(await this.#run(hook, 'persist', t0, hook.timeoutMs, force))
    return reports
  }

  /** The cleanups that persistence still needed (a door's framework close last): each with its whole timeout. */
  async runAfterPersist (t0: number, force: AbortSignal): Promise<HookReport[]> {
    const reports: HookReport[] = []
    for (const hook of this.#cleanup.filter((h) => h.afterPersist).reverse()) {
      reports.push(await this.#run(hook, 'afterPersist', t0, hook.timeoutMs, force))
    }
    return reports
  }

  #validate (method: string, keys: string[], existing: readonly RegisteredHook[], name: unknown, fn: unknown, options: unknown): RegisteredHook {
    const { timeoutMs, ...hook } = validateRegistration({ method, keys, taken: existing.map((h) => h.name), among: 'its phase\'s hooks' }, name, fn, options)
    return { name: hook.name, fn: fn as Hook, timeoutMs: timeoutMs ?? this.#defaultTimeoutMs }
  }

  /** Runs one hook; `force` (a second signal) skips it, or cuts it short like a timeout. */
  async #run (hook: RegisteredHook, phase: HookPhase, t0: number, timeoutMs: number, force: AbortSignal): Promise<HookReport> {
    const started = performance.now()
    const skipped = force.aborted
    const label = PHASE_LABELS[phase]
    const raced = await raceTimeout(hook.fn, timeoutMs, force, `${label} hook '${hook.name}' is no longer awaited`)
    // Start and end rounded on the report's one grid (see report.ts), so a hook never overhangs its phase.
    const startMs = msFrom(t0, started)
    const report: HookReport = {
      name: hook.name,
      phase,
      outcome: skipped ? 'skipped' : raced.outcome === 'aborted' ? 'timeout' : raced.outcome,
      startMs,
      durationMs: Math.max(0, msFrom(t0, performance.now()) - startMs),
      ...(raced.outcome === 'error' ? { error: errorInfo(raced.error) } : {})
    }
    if (report.outcome !== 'ok') {
      this.#logger.warn({ hook: hook.name, phase, outcome: report.outcome, err: report.error },
        `${label} hook ${report.outcome === 'error' ? 'failed' : report.outcome === 'timeout' ? 'timed out' : 'skipped'}`)
    }
    return report
  }
}
