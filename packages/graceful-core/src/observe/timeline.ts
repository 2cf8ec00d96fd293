/**
 * Lays a ShutdownReport out on the wall clock: when each phase and each hook began and ended. The
 * report records every phase's and hook's `startMs` (from the signal) and `durationMs`; this only
 * adds them to the report's start. Times are epoch milliseconds.
 * @module
 */
import { PHASE_ORDER, type PhaseName } from '../report.js'
import type { HookPhase, HookReport, PhaseTiming, ShutdownReport } from '../types.js'

export type { PhaseName }

export interface Interval {
  start: number
  end: number
}

export interface HookSlot extends Interval {
  hook: HookReport
  /** The phase it ran in (the hook's own `phase`). */
  phase: HookPhase
}

export interface Timeline extends Interval {
  phases: Record<PhaseName, Interval>
  hooks: HookSlot[]
}

export function timelineOf (report: ShutdownReport): Timeline {
  const start = Date.parse(report.startedAt)
  const at = (timing: PhaseTiming): Interval => ({ start: start + timing.startMs, end: start + timing.startMs + timing.durationMs })
  const phases = {} as Record<PhaseName, Interval>
  for (const name of PHASE_ORDER) phases[name] = at(report.phases[name])
  const hooks = report.hooks.map((hook) => ({ hook, phase: hook.phase, ...at(hook) }))
  return { start, end: start + report.durationMs, phases, hooks }
}
