import { msFrom } from './timing.js'
import type { DrainCounts } from './drain/contract.js'
import type { SpreadCounts } from './drain/long-lived-spread.js'
import type { WebSocketCounts } from './drain/websockets.js'
import type { PreStopResult } from './pre-stop.js'
import type { ErrorInfo, HookReport, PhaseTiming, ShutdownPhase, ShutdownReport, StartupReport, State } from './types.js'

export type PhaseName = keyof ShutdownReport['phases']

/** The phases in the order they run. */
export const PHASE_ORDER: readonly PhaseName[] = ['preStop', 'drain', 'cleanup', 'persist', 'afterPersist']

/** Each phase as a log line names it. */
export const PHASE_LABELS: Readonly<Record<PhaseName, string>> = { preStop: 'pre-stop', drain: 'drain', cleanup: 'cleanup', persist: 'persist', afterPersist: 'after-persist cleanup' }

/** When each phase that ran started and ended, on the performance clock. */
export type PhaseTimes = Partial<Record<PhaseName, { readonly start: number, readonly end: number }>>

/**
 * Every phase as whole milliseconds from the signal. Start and end are rounded (not the duration),
 * so the phases and the hooks inside them sit on one grid and never overlap by a rounding. A phase
 * that never ran starts where the one before it ended and lasts 0 ms.
 */
function phaseTimings (times: PhaseTimes, t0: number): Record<PhaseName, PhaseTiming> {
  const timings = {} as Record<PhaseName, PhaseTiming>
  let previousEnd = 0
  for (const name of PHASE_ORDER) {
    const time = times[name]
    const startMs = time === undefined ? previousEnd : msFrom(t0, time.start)
    const endMs = time === undefined ? previousEnd : Math.max(startMs, msFrom(t0, time.end))
    timings[name] = { startMs, durationMs: endMs - startMs }
    previousEnd = endMs
  }
  return timings
}

/** What the phases of one run produced, as the pipeline collected it. */
export interface RunRecord {
  readonly reason: string
  readonly startedAt: Date
  /** performance.now() at the signal: every phase's moment is counted from it. */
  readonly t0: number
  readonly exitCode: number
  readonly forcedDuring: ShutdownPhase | undefined
  readonly inFlightAtSignal: number
  readonly preStop: PreStopResult
  readonly phaseTimes: PhaseTimes
  readonly drain: { readonly listenerClosedAt: number, readonly listenerClosedBy: 'graceful' | 'other' }
  readonly counts: readonly DrainCounts[]
  readonly tasks: { readonly finished: number, readonly failed: number, readonly aborted: number }
  readonly webSockets: Readonly<WebSocketCounts>
  readonly spread: Readonly<SpreadCounts>
  readonly hooks: readonly HookReport[]
  readonly startup: StartupReport
  readonly faults: readonly ErrorInfo[]
}

/** Builds the ShutdownReport (plain JSON, whole milliseconds) from a run's record. */
export function buildReport (run: RunRecord): ShutdownReport {
  const total = (key: keyof DrainCounts): number => run.counts.reduce((sum, c) => sum + c[key], 0)
  const { preStop } = run
  const timings = phaseTimings(run.phaseTimes, run.t0)
  return {
    reason: run.reason,
    startedAt: run.startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - run.t0),
    exitCode: run.exitCode,
    forced: run.forcedDuring !== undefined,
    ...(run.forcedDuring === undefined ? {} : { forcedDuring: run.forcedDuring }),
    phases: {
      preStop: { ...preStop, ...timings.preStop },
      drain: {
        ...timings.drain,
        listenerClosedAtMs: msFrom(run.t0, run.drain.listenerClosedAt),
        listenerClosedBy: run.drain.listenerClosedBy,
        acceptedWhileClosing: total('acceptedWhileClosing')
      },
      cleanup: timings.cleanup,
      persist: timings.persist,
      afterPersist: timings.afterPersist
    },
    requests: { inFlightAtSignal: run.inFlightAtSignal, completedAfterSignal: total('completed') },
    probes: { answered: total('probesAnswered') },
    sockets: { closedIdle: total('closedIdle'), closedAfterResponse: total('closedAfterResponse'), destroyed: total('destroyed') },
    tasks: { ...run.tasks },
    longLived: {
      streamsEnded: total('streamsEnded'),
      webSocketsClosed: run.webSockets.closed,
      webSocketsTerminated: run.webSockets.terminated,
      closeCodes: { ...run.webSockets.codes },
      spreadMs: run.spread.windowMs,
      held: run.spread.held,
      holdsExpired: run.spread.holdsExpired
    },
    hooks: [...run.hooks],
    startup: run.startup,
    faults: [...run.faults]
  }
}

/** How a run ended, in one word: `forced` by a second signal, `complete`, or `incomplete` (exit code not 0). */
export function outcomeOf (report: ShutdownReport): 'forced' | 'complete' | 'incomplete' {
  return report.forced ? 'forced' : report.exitCode === 0 ? 'complete' : 'incomplete'
}

/** The one summary line logged with the report. */
export function summaryLine (report: ShutdownReport): string {
  const hooks = report.hooks.length === 0
    ? 'no hooks'
    : `hooks ${report.hooks.map((h) => `${h.name}:${h.outcome}`).join(', ')}`
  const { closedIdle, closedAfterResponse, destroyed } = report.sockets
  const { streamsEnded, webSocketsClosed, webSocketsTerminated } = report.longLived
  const longLived = streamsEnded + webSocketsClosed + webSocketsTerminated === 0
    ? ''
    : `long-lived ${streamsEnded} event streams ended / ${webSocketsClosed} WebSockets closed / ${webSocketsTerminated} terminated over ${report.longLived.spreadMs} ms, `
  return `shutdown ${outcomeOf(report)} (${report.reason}) in ${report.durationMs} ms, exit ${report.exitCode}: ` +
    `pre-stop ${report.phases.preStop.durationMs} ms (${report.phases.preStop.endedBy}), ` +
    `${report.requests.completedAfterSignal} requests completed, sockets ${closedIdle} idle / ${closedAfterResponse} after response / ${destroyed} destroyed, ` +
    longLived +
    `tasks ${report.tasks.finished} finished / ${report.tasks.aborted} aborted, ${hooks}` +
    (report.faults.length === 0 ? '' : `, ${report.faults.length} fault(s)`)
}
