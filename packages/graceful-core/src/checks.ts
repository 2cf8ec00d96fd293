import { publishCheck } from './observe/channels.js'
import { raceTimeout } from './timing.js'
import { booleanOption, checkDuration, validateRegistration } from './validate.js'
import type { CheckFn, CheckOutcome, Logger } from './types.js'

const OPTION_KEYS = ['timeoutMs', 'cacheMs', 'critical']

interface Check {
  readonly name: string
  readonly fn: CheckFn
  readonly timeoutMs: number
  readonly cacheMs: number
  readonly critical: boolean
  /** The last outcome, and when it was known (performance clock). */
  outcome: CheckOutcome | undefined
  checkedAt: number
  /** The run in flight: every probe arriving meanwhile shares it (single flight). */
  running: Promise<void> | undefined
}

/** What the checks say together: any critical one failing makes the instance unavailable. */
export interface CheckSummary {
  readonly status: 'healthy' | 'degraded' | 'unavailable'
  readonly outcomes: Record<string, CheckOutcome>
}

/**
 * Readiness dependency checks. A probe refreshes them: checks whose result is older than their
 * `cacheMs` run again, concurrently, each under its timeout; a check already running is shared, so
 * any number of simultaneous probes run a check at most once. Errors go to the log only when a
 * check's outcome changes, never once per probe, and never into a probe body.
 */
export class CheckSet {
  readonly #checks: Check[] = []
  readonly #logger: Logger
  /** Until then (performance clock) every check's result is cached. */
  #freshUntil = 0
  /** Checks running right now. */
  #running = 0
  /** summary(), until an outcome changes or a check is added. */
  #summary: CheckSummary | undefined

  constructor (logger: Logger) {
    this.#logger = logger
  }

  get size (): number {
    return this.#checks.length
  }

  /** Validates and registers a check (defaults: timeout 1000 ms, cached 1000 ms, critical). */
  add (name: unknown, fn: unknown, options: unknown): void {
    const rule = { method: 'check', keys: OPTION_KEYS, taken: this.#checks.map((c) => c.name), among: 'readiness checks' }
    const { name: checked, options: given, timeoutMs } = validateRegistration(rule, name, fn, options)
    const critical = booleanOption('check', checked, given, 'critical')
    this.#checks.push({
      name: checked,
      fn: fn as CheckFn,
      timeoutMs: timeoutMs ?? 1000,
      cacheMs: given.cacheMs === undefined ? 1000 : checkDuration(`check('${checked}') options.cacheMs`, given.cacheMs),
      critical: critical !== false,
      outcome: undefined,
      checkedAt: 0,
      running: undefined
    })
    this.#freshUntil = 0
  }

  /**
   * Runs the checks whose result is stale; resolves once every check has a fresh result. While every
   * result is cached and none runs, a probe costs one comparison, however many checks there are.
   */
  async refresh (shutdown: AbortSignal): Promise<void> {
    const now = performance.now()
    if (now < this.#freshUntil && this.#running === 0) return
    await Promise.all(this.#checks.map(async (check) => {
      if (check.running === undefined && (check.outcome === undefined || now - check.checkedAt >= check.cacheMs)) {
        this.#running++
        check.running = this.#run(check, shutdown).finally(() => {
          check.running = undefined
          this.#running--
        })
      }
      await check.running
    }))
    // Every check has a result now: the earliest to expire bounds the fast path above.
    this.#freshUntil = Math.min(...this.#checks.map((c) => (c.outcome === undefined ? 0 : c.checkedAt + c.cacheMs)))
  }

  /** The last known outcomes (checks that never ran are left out); no check runs. Kept until an outcome changes. */
  summary (): CheckSummary {
    return (this.#summary ??= this.#summarize())
  }

  #summarize (): CheckSummary {
    const outcomes: Record<string, CheckOutcome> = {}
    let status: CheckSummary['status'] = 'healthy'
    for (const check of this.#checks) {
      if (check.outcome === undefined) continue
      outcomes[check.name] = check.outcome
      if (check.outcome === 'ok') continue
      if (check.critical) status = 'unavailable'
      else if (status === 'healthy') status = 'degraded'
    }
    return { status, outcomes }
  }

  async #run (check: Check, shutdown: AbortSignal): Promise<void> {
    const started = performance.now()
    const raced = await raceTimeout(check.fn, check.timeoutMs, shutdown, `readiness check ${check.name} timed out after ${check.timeoutMs} ms`)
    // Shutdown began meanwhile: readiness no longer depends on checks, and an aborted check is no news.
    if (raced.outcome === 'aborted' || shutdown.aborted) return
    // A throw is a failure too; resolving to false is the plain way to say "not ready".
    const outcome: CheckOutcome = raced.outcome === 'ok' ? (raced.value === false ? 'fail' : 'ok') : raced.outcome === 'error' ? 'fail' : 'timeout'
    publishCheck(check.name, outcome, performance.now() - started)
    this.#record(check, outcome, raced.outcome === 'error' ? raced.error : undefined)
  }

  /** Keeps the outcome; logs one line when it changed (a first `ok` is not a change). */
  #record (check: Check, outcome: CheckOutcome, error: unknown): void {
    const previous = check.outcome
    if (previous !== outcome) this.#summary = undefined
    check.outcome = outcome
    check.checkedAt = performance.now()
    // A first `ok` is no news; a first failure is, and has no previous outcome to name.
    if (outcome === (previous ?? 'ok')) return
    const fields = { check: check.name, outcome, ...(previous === undefined ? {} : { previous }), critical: check.critical }
    if (outcome === 'ok') {
      this.#logger.info(fields, `readiness check ${check.name} recovered`)
    } else if (outcome === 'timeout') {
      this.#logger.warn({ ...fields, timeoutMs: check.timeoutMs }, `readiness check ${check.name} timed out`)
    } else {
      this.#logger.warn({ ...fields, ...(error === undefined ? { returned: false } : { err: error }) }, `readiness check ${check.name} failed`)
    }
  }
}
