/**
 * Lays a ShutdownReport out on the wall clock: when each phase and each hook began and ended. The
 * report keeps only durations (rounded to the millisecond) and its start, so this rebuilds the rest
 * from how the pipeline runs: the phases one after the other (pre-stop, drain, cleanup, persist),
 * the hooks one after the other from the start of cleanup. Times are epoch milliseconds.
 * @module
 */
import type { HookReport, ShutdownReport } from '../types.js'

export type PhaseName = 'preStop' | 'drain' | 'cleanup' | 'persist'

export interface Interval {
  start: number
  end: number
}

export interface HookSlot extends Interval {
  hook: HookReport
  /** The phase it ran in: after-persist cleanup hooks run in the persist phase. */
  phase: 'cleanup' | 'persist'
}

export interface Timeline extends Interval {
  phases: Record<PhaseName, Interval>
  hooks: HookSlot[]
}

const PHASES: readonly PhaseName[] = ['preStop', 'drain', 'cleanup', 'persist']

export function timelineOf (report: ShutdownReport): Timeline {
  const start = Date.parse(report.startedAt)
  const end = start + report.durationMs
  // Rounded durations can add up to a little more than the whole: clamp, never run past the end.
  let cursor = start
  const phases = {} as Record<PhaseName, Interval>
  for (const name of PHASES) {
    const phaseEnd = Math.min(end, cursor + report.phases[name].durationMs)
    phases[name] = { start: cursor, end: phaseEnd }
    cursor = phaseEnd
  }
  const inCleanup = cleanupPhaseHooks(report)
  const hooks: HookSlot[] = []
  let at = { cleanup: phases.cleanup.start, persist: phases.persist.start }
  report.hooks.forEach((hook, i) => {
    const phase = i < inCleanup ? 'cleanup' : 'persist'
    const slotEnd = Math.min(phases[phase].end, at[phase] + hook.durationMs)
    hooks.push({ hook, phase, start: at[phase], end: slotEnd })
    at = { ...at, [phase]: slotEnd }
  })
  return { start, end, phases, hooks }
}

/**
 * How many of the report's first hooks ran in the cleanup phase. The report lists cleanup hooks,
 * then persist hooks, then the cleanup hooks registered with `afterPersist` (which run in the persist
 * phase). With a persist hook the split is exact. Without one the two cleanup groups touch, and the
 * cleanup phase's duration decides: as many as fit in it (each rounded duration may be off by half a
 * millisecond). Hooks that took 0 ms at the border are then counted in cleanup, at the same instant.
 */
export function cleanupPhaseHooks (report: ShutdownReport): number {
  const firstPersist = report.hooks.findIndex((h) => h.phase === 'persist')
  if (firstPersist >= 0) return firstPersist
  const budget = report.phases.cleanup.durationMs
  let sum = 0
  let count = 0
  for (const hook of report.hooks) {
    sum += hook.durationMs
    if (sum > budget + 0.5 * (count + 2)) break
    count++
  }
  return count
}
