/**
 * The span tree of one shutdown, built after the fact from its report (spans take explicit start
 * and end times): `graceful.shutdown` from the signal to the end of the run, its phases
 * `graceful.pre_stop`, `graceful.drain`, `graceful.cleanup`, `graceful.persist`,
 * `graceful.after_persist`, and one `graceful.hook` per hook under the phase it ran in (times from
 * the report's own `startMs` and `durationMs`). Built at the end because a shutdown is one
 * unit the process does not outlive by much: nothing needs to be open while it runs.
 * @module
 */
import type * as OTel from '@opentelemetry/api'
import type { HookReport, ShutdownReport } from '../types.js'
import { type PhaseName, timelineOf } from './timeline.js'

type Api = typeof OTel

export const TRACER_NAME = 'graceful-core'

const PHASE_SPANS: Record<PhaseName, string> = {
  preStop: 'graceful.pre_stop',
  drain: 'graceful.drain',
  cleanup: 'graceful.cleanup',
  persist: 'graceful.persist',
  afterPersist: 'graceful.after_persist'
}

export function recordShutdownSpans (api: Api, report: ShutdownReport): void {
  const tracer = api.trace.getTracer(TRACER_NAME)
  const timeline = timelineOf(report)
  // A root: a shutdown is not part of whatever request happens to be the active context.
  const root = tracer.startSpan('graceful.shutdown', {
    root: true,
    kind: api.SpanKind.INTERNAL,
    startTime: timeline.start,
    attributes: shutdownAttributes(report)
  })
  for (const fault of report.faults) root.recordException(fault, timeline.end)
  if (report.forced || report.exitCode !== 0) {
    root.setStatus({
      code: api.SpanStatusCode.ERROR,
      message: report.forced ? `forced by a second signal during ${report.forcedDuring ?? 'the shutdown'}` : `exit code ${report.exitCode}`
    })
  }
  const parent = api.trace.setSpan(api.ROOT_CONTEXT, root)
  const phaseSpans = {} as Record<PhaseName, OTel.Span>
  for (const name of Object.keys(PHASE_SPANS) as PhaseName[]) {
    const { start } = timeline.phases[name]
    phaseSpans[name] = tracer.startSpan(PHASE_SPANS[name], { startTime: start, attributes: phaseAttributes(report, name) }, parent)
  }
  for (const slot of timeline.hooks) {
    const context = api.trace.setSpan(api.ROOT_CONTEXT, phaseSpans[slot.phase])
    const span = tracer.startSpan('graceful.hook', { startTime: slot.start, attributes: hookAttributes(slot.hook) }, context)
    if (slot.hook.outcome === 'error' || slot.hook.outcome === 'timeout') {
      if (slot.hook.error) span.recordException(slot.hook.error, slot.end)
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: slot.hook.error?.message ?? slot.hook.outcome })
    }
    span.end(slot.end)
  }
  for (const name of Object.keys(PHASE_SPANS) as PhaseName[]) phaseSpans[name].end(timeline.phases[name].end)
  root.end(timeline.end)
}

function shutdownAttributes (report: ShutdownReport): OTel.Attributes {
  return {
    'graceful.shutdown.reason': report.reason,
    'graceful.exit_code': report.exitCode,
    'graceful.forced': report.forced,
    ...(report.forcedDuring === undefined ? {} : { 'graceful.forced_during': report.forcedDuring }),
    'graceful.requests.in_flight_at_signal': report.requests.inFlightAtSignal,
    'graceful.requests.completed_after_signal': report.requests.completedAfterSignal
  }
}

function phaseAttributes (report: ShutdownReport, phase: PhaseName): OTel.Attributes {
  const { preStop, drain } = report.phases
  const { sockets, tasks } = report
  switch (phase) {
    case 'preStop':
      return { 'graceful.pre_stop.ended_by': preStop.endedBy, 'graceful.pre_stop.requests': preStop.requests }
    case 'drain':
      return {
        'graceful.drain.listener_closed_by': drain.listenerClosedBy,
        'graceful.drain.accepted_while_closing': drain.acceptedWhileClosing,
        'graceful.sockets.closed_idle': sockets.closedIdle,
        'graceful.sockets.closed_after_response': sockets.closedAfterResponse,
        'graceful.sockets.destroyed': sockets.destroyed,
        'graceful.tasks.finished': tasks.finished,
        'graceful.tasks.aborted': tasks.aborted
      }
    default:
      return {}
  }
}

function hookAttributes (hook: HookReport): OTel.Attributes {
  return { 'graceful.hook.name': hook.name, 'graceful.hook.outcome': hook.outcome, 'graceful.hook.phase': hook.phase }
}
