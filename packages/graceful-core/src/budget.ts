/**
 * The one place where gracePeriodMs is split between the phases. The rule, checkable by hand:
 *
 * 1. The hooks reserve the sum of their timeouts, at most half of gracePeriodMs.
 * 2. Pre-stop may take at most two thirds of what the hooks leave (rounded down to the millisecond),
 *    so the drain always keeps at least a third. A longer pre-stop is shortened to that.
 * 3. The drain gets the rest of what the hooks leave: it ends at gracePeriodMs − reserve.
 * 4. Within the reserve, persistence (and the cleanups that run after it) comes first: the cleanups
 *    before it share only what persistence does not need.
 * 5. The closes of long-lived connections are spread over at most half of the drain (rounded down),
 *    so the last ones keep time for their close handshake. A longer `longLived.spreadMs` is
 *    shortened to that; the drain runs longer when pre-stop ends early, and the window with it.
 *
 * Worked examples are in the core README ("Budget").
 */

import { SPREAD_MAX_SHARE } from './drain/long-lived-spread.js'
import type { Pm2KillTimeout } from './platform/pm2.js'
import type { Logger } from './types.js'

/** The hooks reserve at most this share of gracePeriodMs. */
const HOOKS_MAX_SHARE = 1 / 2
/** Pre-stop takes at most this share of what the hooks leave; the drain keeps the rest. */
const PRE_STOP_MAX_SHARE = 2 / 3
/**
 * The report, the logger flush and the exit need a moment after gracePeriodMs: a platform that kills
 * the process sooner than this after the end of the budget is warned of (Kubernetes'
 * terminationGracePeriodSeconds, PM2's kill_timeout), and clusterPrimary() kills this much later.
 */
export const EXIT_HEADROOM_MS = 2000

export interface BudgetOptions {
  readonly gracePeriodMs: number
  readonly preStopDelayMs: number
  readonly preStopQuietMs: number
  readonly preStopMaxMs: number
  readonly longLived: { readonly spreadMs: number, readonly spreadGiven: boolean }
}

/** The hooks' timeouts: those that run with persistence (and after it), and the cleanups before it. */
export interface HookTimeouts {
  readonly persistMs: number
  readonly cleanupMs: number
}

export interface Budget {
  readonly gracePeriodMs: number
  /** What the hooks asked for: the sum of their timeouts. */
  readonly hookTimeoutsMs: number
  /** What they get (rule 1). */
  readonly hooksMs: number
  readonly persistMs: number
  /** The longest pre-stop as configured: preStopDelayMs, or preStopMaxMs when traffic-aware. */
  readonly preStopConfiguredMs: number
  /** The longest pre-stop as it will run (rule 2). */
  readonly preStopMs: number
  /** The least the drain keeps (rule 3), when pre-stop takes its longest. */
  readonly drainMinMs: number
  /** The long-lived close window as configured, and the least it gets (rule 5). */
  readonly spreadConfiguredMs: number
  readonly spreadMs: number
}

/** The longest pre-stop that fits `gracePeriodMs` with hooks of these timeouts (rules 1 and 2). */
export function preStopLimit (gracePeriodMs: number, hookTimeoutsMs: number): number {
  const hooksMs = Math.min(hookTimeoutsMs, gracePeriodMs * HOOKS_MAX_SHARE)
  return Math.floor((gracePeriodMs - hooksMs) * PRE_STOP_MAX_SHARE)
}

export function planBudget (options: BudgetOptions, hooks: HookTimeouts): Budget {
  const { gracePeriodMs } = options
  const hookTimeoutsMs = hooks.persistMs + hooks.cleanupMs
  const hooksMs = Math.min(hookTimeoutsMs, gracePeriodMs * HOOKS_MAX_SHARE)
  const preStopConfiguredMs = options.preStopQuietMs > 0 ? options.preStopMaxMs : options.preStopDelayMs
  const preStopMs = Math.min(preStopConfiguredMs, preStopLimit(gracePeriodMs, hookTimeoutsMs))
  const drainMinMs = gracePeriodMs - hooksMs - preStopMs
  return {
    gracePeriodMs,
    hookTimeoutsMs,
    hooksMs,
    persistMs: Math.min(hooks.persistMs, hooksMs),
    preStopConfiguredMs,
    preStopMs,
    drainMinMs,
    spreadConfiguredMs: options.longLived.spreadMs,
    spreadMs: Math.min(options.longLived.spreadMs, Math.floor(drainMinMs * SPREAD_MAX_SHARE))
  }
}

/** The budget as moments on the performance clock, for a run that began at `t0`. */
export function deadlines (budget: Budget, t0: number): { preStopEnd: number, drainDeadline: number, cleanupDeadline: number } {
  const end = t0 + budget.gracePeriodMs
  return { preStopEnd: t0 + budget.preStopMs, drainDeadline: end - budget.hooksMs, cleanupDeadline: end - budget.persistMs }
}

/** The smallest gracePeriodMs that lets `preStopMs` run whole with hooks of these timeouts. */
export function gracePeriodFitting (preStopMs: number, hookTimeoutsMs: number): number {
  // preStopLimit grows with gracePeriodMs; this upper bound fits (the hooks get at most half of it).
  return smallestFitting((g) => preStopLimit(g, hookTimeoutsMs) >= preStopMs, Math.ceil(3 * preStopMs + 2 * hookTimeoutsMs) + 3)
}

/** The smallest gracePeriodMs whose drain (with this pre-stop and these hooks) fits a spread of `spreadMs` whole. */
function gracePeriodFittingSpread (spreadMs: number, options: BudgetOptions, hookTimeoutsMs: number): number {
  const fits = (g: number): boolean => {
    const budget = planBudget({ ...options, gracePeriodMs: g, longLived: { spreadMs, spreadGiven: true } }, { persistMs: hookTimeoutsMs, cleanupMs: 0 })
    return budget.spreadMs >= spreadMs
  }
  // The drain keeps at least a third of what the hooks leave, and the hooks take at most half.
  return smallestFitting(fits, Math.ceil(6 * (spreadMs + 1) / SPREAD_MAX_SHARE + 2 * hookTimeoutsMs + options.preStopMaxMs + options.preStopDelayMs) + 3)
}

/** Binary search for the smallest gracePeriodMs ≤ `high` that `fits` (which holds from some value on). */
function smallestFitting (fits: (gracePeriodMs: number) => boolean, high: number): number {
  let low = 0
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2)
    if (fits(middle)) high = middle
    else low = middle
  }
  return high
}

export interface BudgetWarning {
  readonly fields: Record<string, number>
  readonly message: string
}

/** When the platform kills the process after the signal: Kubernetes' grace period, PM2's kill_timeout. */
export interface KillDeadlines {
  readonly terminationGracePeriodMs: number | undefined
  readonly pm2KillTimeout: Pm2KillTimeout | undefined
}

/** What cannot work as configured, each naming the options and the values that would. */
export function budgetWarnings (budget: Budget, options: BudgetOptions & KillDeadlines): BudgetWarning[] {
  const warnings: BudgetWarning[] = []
  const { gracePeriodMs, hookTimeoutsMs, preStopConfiguredMs, preStopMs } = budget
  // Only what cannot fit at all: the hooks' whole timeouts after pre-stop, even with a drain that ends
  // at once. A reserve capped at half (rule 1) is no failure: a drain usually ends early, and the
  // hooks then get what it left.
  if (hookTimeoutsMs + preStopMs > gracePeriodMs) {
    warnings.push({
      fields: { gracePeriodMs, hookTimeoutsMs, preStopMs },
      message: `the hooks' timeouts add up to ${hookTimeoutsMs} ms: after a pre-stop of ${preStopMs} ms they cannot end within gracePeriodMs (${gracePeriodMs}) ` +
        `even when the drain ends at once; set gracePeriodMs to at least ${hookTimeoutsMs + preStopConfiguredMs} or lower the hook timeouts`
    })
  }
  if (preStopMs < preStopConfiguredMs) {
    const option = options.preStopQuietMs > 0 ? 'preStopMaxMs' : 'preStopDelayMs'
    warnings.push({
      fields: { [option]: preStopConfiguredMs, gracePeriodMs, hookTimeoutsMs, effectivePreStopMs: preStopMs },
      message: `${option} (${preStopConfiguredMs}) does not fit gracePeriodMs (${gracePeriodMs}): the drain keeps at least a third of what the hooks leave, ` +
        `so pre-stop is shortened to ${preStopMs} ms; set ${option} to at most ${preStopMs}, or gracePeriodMs to at least ${gracePeriodFitting(preStopConfiguredMs, hookTimeoutsMs)}`
    })
  }
  const { spreadConfiguredMs, spreadMs } = budget
  if (options.longLived.spreadGiven && spreadMs < spreadConfiguredMs) {
    warnings.push({
      fields: { 'longLived.spreadMs': spreadConfiguredMs, gracePeriodMs, drainMinMs: budget.drainMinMs, effectiveSpreadMs: spreadMs },
      message: `longLived.spreadMs (${spreadConfiguredMs}) does not fit the drain: the closes take at most half of it, and it may be as short as ${budget.drainMinMs} ms, ` +
        `so the spread may be shortened to ${spreadMs} ms; set longLived.spreadMs to at most ${spreadMs}, ` +
        `or gracePeriodMs to at least ${gracePeriodFittingSpread(spreadConfiguredMs, options, hookTimeoutsMs)}`
    })
  }
  // The same deadline, under two names: what must fit before the kill is gracePeriodMs and the exit.
  const neededMs = gracePeriodMs + EXIT_HEADROOM_MS
  const { terminationGracePeriodMs, pm2KillTimeout } = options
  if (terminationGracePeriodMs !== undefined && neededMs > terminationGracePeriodMs) {
    warnings.push({
      fields: { gracePeriodMs, terminationGracePeriodMs },
      message: `gracePeriodMs (pre-stop, drain, cleanup and persistence) must end at least ${EXIT_HEADROOM_MS} ms before the platform kills the process; ` +
        `raise terminationGracePeriodSeconds to at least ${Math.ceil(neededMs / 1000)} or lower gracePeriodMs to at most ${terminationGracePeriodMs - EXIT_HEADROOM_MS}`
    })
  }
  if (pm2KillTimeout !== undefined && neededMs > pm2KillTimeout.ms) {
    warnings.push({
      fields: { gracePeriodMs, kill_timeout: pm2KillTimeout.ms },
      message: `PM2 kills this process kill_timeout (${pm2KillTimeout.ms} ms${pm2KillTimeout.configured ? '' : ', PM2\'s default'}) after SIGINT, ` +
        `before gracePeriodMs (${gracePeriodMs} ms) can end: set kill_timeout: ${neededMs} in the ecosystem file ` +
        `(pm2 start --kill-timeout ${neededMs}), or lower gracePeriodMs`
    })
  }
  return warnings
}

/**
 * Warns of a budget that cannot work as configured, once per warning: after the synchronous setup
 * (hooks registered right after createGraceful() count), and before the instance reports running
 * (PM2's 'ready') at the latest.
 */
export class BudgetWarnings {
  readonly #warned = new Set<string>()
  readonly #plan: () => Budget
  readonly #options: BudgetOptions & KillDeadlines
  readonly #logger: Logger
  #pending: NodeJS.Immediate | undefined
  readonly #deferred: () => boolean

  /** `deferred`: true while a door is still setting up; the check then waits for the instance to run (nowIfDue). */
  constructor (plan: () => Budget, options: BudgetOptions & KillDeadlines, logger: Logger, deferred: () => boolean) {
    this.#plan = plan
    this.#deferred = deferred
    this.#options = options
    this.#logger = logger
  }

  /** A registration changed the budget: check it once the setup tick is over, unless a door still sets up. */
  schedule (): void {
    this.#pending ??= setImmediate(() => { if (!this.#deferred()) this.now() }).unref()
  }

  /** Logs the warnings not logged yet, if a check is due. */
  nowIfDue (): void {
    if (this.#pending !== undefined) this.now()
  }

  now (): void {
    this.cancel()
    for (const { fields, message } of budgetWarnings(this.#plan(), this.#options)) {
      if (this.#warned.has(message)) continue
      this.#warned.add(message)
      this.#logger.warn(fields, message)
    }
  }

  cancel (): void {
    clearImmediate(this.#pending)
    this.#pending = undefined
  }
}
