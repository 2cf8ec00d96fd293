import { type Budget, BudgetWarnings, planBudget } from './budget.js'
import { CheckSet } from './checks.js'
import { LongLivedSpread } from './drain/long-lived-spread.js'
import { WebSocketCloser } from './drain/websockets.js'
import { HookRegistry } from './hooks.js'
import { Lifecycle } from './lifecycle.js'
import { type ResolvedOptions, resolveOptions } from './options.js'
import { detectRuntime, unsupportedRuntime } from './platform/runtime.js'
import { PreStopWindow } from './pre-stop.js'
import { Probes } from './probes.js'
import { ServerSet } from './servers.js'
import { SignalPolicy } from './signals.js'
import { StartupGate } from './startup.js'
import { TaskSet } from './tasks.js'
import type { GracefulOptions } from './types.js'

/** What a coordinator is made of: each concept its own part, wired to the others by callbacks. */
export interface Parts {
  readonly options: ResolvedOptions
  readonly lifecycle: Lifecycle
  readonly tasks: TaskSet
  readonly hooks: HookRegistry
  readonly checks: CheckSet
  readonly startupGate: StartupGate
  readonly probes: Probes
  readonly preStop: PreStopWindow
  readonly servers: ServerSet
  readonly webSockets: WebSocketCloser
  readonly longLived: LongLivedSpread
  readonly budgetWarnings: BudgetWarnings
  readonly signals: SignalPolicy
  /** The split of gracePeriodMs with the hooks registered so far (see budget.ts). */
  readonly budget: () => Budget
}

/** What the parts tell the coordinator. */
export interface PartsEvents {
  /** Startup is over: every startup task resolved and every added server listens. */
  readonly onStarted: () => void
  /** A startup task failed. */
  readonly onStartupFailure: (reason: string) => void
}

/**
 * Checks the runtime and the options (a bad one throws, naming itself), then builds the parts of
 * `coordinator`.
 */
export function buildParts (coordinator: object, options: GracefulOptions | undefined, events: PartsEvents): Parts {
  const runtime = detectRuntime()
  const unsupported = unsupportedRuntime(runtime)
  if (unsupported !== undefined) throw unsupported
  const resolved = resolveOptions(options)
  const { logger } = resolved
  const lifecycle = new Lifecycle(logger)
  const hooks = new HookRegistry(resolved.hookTimeoutMs, logger)
  const checks = new CheckSet(logger)
  const startupGate = new StartupGate(resolved.startupTimeoutMs, logger, () => { events.onStarted() }, events.onStartupFailure)
  const probes = new Probes({ options: resolved, checks, lifecycle })
  const preStop = new PreStopWindow(resolved, lifecycle.force.signal)
  const budget = (): Budget => planBudget(resolved, hooks.timeouts())
  return {
    options: resolved,
    lifecycle,
    tasks: new TaskSet(logger),
    hooks,
    checks,
    startupGate,
    probes,
    preStop,
    servers: new ServerSet(coordinator, { lifecycle, probes, startupGate, logger, onTraffic: () => { preStop.sawTraffic() }, runtime, keepAliveInPreStop: resolved.keepAliveInPreStop }),
    webSockets: new WebSocketCloser(),
    longLived: new LongLivedSpread(resolved.longLived),
    budgetWarnings: new BudgetWarnings(budget, resolved, logger, () => startupGate.held),
    signals: new SignalPolicy(logger, resolved.signals),
    budget
  }
}
