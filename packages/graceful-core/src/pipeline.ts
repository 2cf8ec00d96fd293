/**
 * One run of the shutdown pipeline, in this order:
 *
 * 1. a signal or `shutdown()`: state `draining`, `signal` aborts, readiness reports draining, each
 *    connection open now carries `Connection: close` on its next response (signals.ts decides what a
 *    signal means);
 * 2. pre-stop (pre-stop.ts): real traffic is still served for `preStopDelayMs` (and, with
 *    `preStopQuietMs`, until traffic stops, at most `preStopMaxMs`), never longer than budget.ts
 *    allows; connections accepted now are kept alive;
 * 3. drain (drain/drain.ts): every response carries `Connection: close`, `drainSignal` aborts,
 *    listeners close, idle connections end at once (those kept alive through pre-stop once idle for a
 *    second, within half the drain time), busy ones after their response, tracked tasks
 *    are awaited; at the drain deadline what is left is destroyed;
 * 4. cleanup hooks in reverse registration order, each under its timeout (hooks.ts);
 * 5. persist hooks in registration order, with a reserved budget; then (phase `afterPersist`) the
 *    cleanups registered with `afterPersist`;
 * 6. every install is undone, the report (report.ts) is emitted and logged, the logger flushed, and
 *    a signal-started run ends the process once every coordinator's run has (process-runs.ts).
 *
 * Nothing in the pipeline throws: a failure inside a phase is a fault of the report and the next
 * phase still runs. A second signal (`lifecycle.force`) skips the remaining waits and exits non-zero.
 * @module
 */
import { deadlines } from './budget.js'
import { drain, type DrainResult } from './drain/drain.js'
import { errorInfo } from './errors.js'
import { exitCodeOf, flushLogger } from './exit.js'
import { publishReport } from './observe/channels.js'
import { flushTelemetry } from './observe/telemetry.js'
import type { Parts } from './parts.js'
import type { PreStopResult } from './pre-stop.js'
import { onProcessFault } from './process-events.js'
import { runEnded, runStarted } from './process-runs.js'
import { buildReport, PHASE_LABELS, type PhaseName, type PhaseTimes, summaryLine } from './report.js'
import type { ErrorInfo, HookReport, ShutdownReport } from './types.js'

/** The longest the exit waits for OpenTelemetry's exporters. */
const TELEMETRY_FLUSH_TIMEOUT_MS = 1000

/** What a run works with: the coordinator's parts. */
export interface RunParts extends Parts {
  /** The coordinator, as the process knows it (process-runs.ts). */
  readonly coordinator: object
  /** Removes the coordinator's signal listeners (undone with every other install when the run ends). */
  readonly unsubscribeSignals: () => void
}

/** Runs the pipeline once and resolves with its report. */
export async function runShutdown (parts: RunParts, reason: string): Promise<ShutdownReport> {
  const { options, lifecycle, servers, hooks: registry, tasks, startupGate } = parts
  const { logger } = options
  const startedAt = new Date()
  const t0 = performance.now()
  const faults: ErrorInfo[] = []
  const fault = (error: unknown, phase: string): void => {
    faults.push(errorInfo(error))
    logger.error({ err: error, phase }, `${phase} failed; shutdown goes on`)
  }
  // Every install has its undo here, run in the finally whatever happened (LIFO).
  const undo: Array<() => void> = [parts.unsubscribeSignals]
  undo.push(onProcessFault((error) => fault(error, 'uncaught error during shutdown')))
  undo.push(() => { servers.detachAll() })
  runStarted(parts.coordinator)
  /** When each phase started and ended (performance clock): the report's `startMs` and `durationMs`. */
  const phaseTimes: PhaseTimes = {}
  /**
   * Runs one phase; a throw becomes a fault and `fallback` its result, so the next phase still runs.
   * `start` is when the phase began: pre-stop counts from the signal itself.
   */
  const phase = async <T>(name: PhaseName, fallback: T, run: () => Promise<T>, start = performance.now()): Promise<T> => {
    lifecycle.phase = name
    try {
      return await run()
    } catch (error) {
      fault(error, `the ${PHASE_LABELS[name]} phase`)
      return fallback
    } finally {
      phaseTimes[name] = { start, end: performance.now() }
    }
  }

  let inFlightAtSignal = 0
  let preStop: PreStopResult = { durationMs: 0, endedBy: 'forced', requests: 0, configuredMs: 0, effectiveMs: 0 }
  let drained: DrainResult | undefined
  const hooks: HookReport[] = []
  const budget = parts.budget()
  try {
    // Whoever sees the state change (or the signal abort) can already read the reason and the state.
    const from = lifecycle.state
    lifecycle.state = 'draining'
    lifecycle.reason = reason
    lifecycle.shutdown.abort(new Error(`shutdown: ${reason}`))
    lifecycle.setState('draining', from)
    startupGate.abort(lifecycle.shutdown.signal.reason)
    tasks.startCounting()
    // The connections open now leave over the pre-stop's minimum, not all at its first millisecond.
    inFlightAtSignal = servers.announceClose(Math.min(options.preStopDelayMs, budget.preStopMs))
    logger.info({ reason, inFlight: inFlightAtSignal }, 'shutdown started; readiness reports draining')
    const { drainDeadline, cleanupDeadline } = deadlines(budget, t0)

    preStop = await phase('preStop', preStop, () => parts.preStop.run(t0, budget.preStopConfiguredMs, budget.preStopMs), t0)
    drained = await phase('drain', undefined, async () => {
      // Before drainSignal aborts: a response the application ends on it closes its connection too.
      // A connection kept alive through pre-stop and idle is left at most half the drain time.
      const now = performance.now()
      servers.closeEveryConnection(now + (drainDeadline - now) / 2)
      lifecycle.drain.abort(new Error('drain started'))
      const drainParts = { drainers: servers.drainers, webSockets: parts.webSockets, longLived: parts.longLived, tasks, logger }
      return await drain(drainParts, drainDeadline, lifecycle.force.signal)
    })
    // A drain that failed half-way must not leave connections open: the process could not exit.
    if (drained === undefined) servers.cutAll()

    lifecycle.setState('cleaning')
    hooks.push(...await phase('cleanup', [], () => registry.runCleanup(t0, cleanupDeadline, lifecycle.force.signal)))
    lifecycle.setState('persisting')
    hooks.push(...await phase('persist', [], () => registry.runPersist(t0, lifecycle.force.signal)))
    hooks.push(...await phase('afterPersist', [], () => registry.runAfterPersist(t0, lifecycle.force.signal)))
  } catch (error) {
    fault(error, 'the shutdown pipeline')
  } finally {
    for (const step of undo.reverse()) {
      try {
        step()
      } catch (error) {
        fault(error, 'undoing an install')
      }
    }
    lifecycle.setState('stopped')
  }
  const report = reportOf(parts, reason, startedAt, t0, { inFlightAtSignal, preStop, drained, hooks, faults, phaseTimes })
  // Published first: a 'report' listener that shuts its telemetry SDK down must not lose the shutdown's spans.
  publishReport(report)
  lifecycle.emit('report', report)
  if (report.exitCode === 0) logger.info({ report }, summaryLine(report))
  else logger.error({ report }, summaryLine(report))
  const exit = lifecycle.exitWhenStopped ? options.exit : undefined
  // The shutdown's own spans and metrics are made from the report: export them before exiting.
  if (exit) await Promise.all([flushLogger(logger), flushTelemetry(TELEMETRY_FLUSH_TIMEOUT_MS)])
  // The process exits once every coordinator in it has finished its run (process-runs.ts).
  runEnded(parts.coordinator, report.exitCode, exit, logger)
  return report
}

function reportOf (parts: RunParts, reason: string, startedAt: Date, t0: number, run: {
  inFlightAtSignal: number, preStop: PreStopResult, drained: DrainResult | undefined, hooks: HookReport[], faults: ErrorInfo[], phaseTimes: PhaseTimes
}): ShutdownReport {
  const { drained, hooks, faults, phaseTimes } = run
  const { lifecycle, tasks, startupGate } = parts
  const forced = lifecycle.force.signal.aborted
  const failed = forced || drained?.complete !== true || hooks.some((h) => h.outcome !== 'ok') || faults.length > 0 ||
    tasks.failed > 0 || startupGate.failed
  return buildReport({
    reason,
    startedAt,
    t0,
    exitCode: exitCodeOf(reason, failed, parts.options.exitWithSignalCode),
    forcedDuring: forced ? lifecycle.forcedDuring ?? lifecycle.phase ?? 'preStop' : undefined,
    inFlightAtSignal: run.inFlightAtSignal,
    preStop: run.preStop,
    phaseTimes,
    drain: {
      listenerClosedAt: drained?.listenerClosedAt ?? t0,
      listenerClosedBy: drained?.listenerClosedBy ?? 'graceful'
    },
    counts: parts.servers.drainers.map((d) => d.counts),
    tasks: { finished: tasks.finished, failed: tasks.failed, aborted: drained?.tasksAborted ?? tasks.size },
    webSockets: parts.webSockets.counts,
    spread: parts.longLived.counts,
    hooks,
    startup: startupGate.report(),
    faults
  })
}
