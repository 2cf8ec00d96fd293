/**
 * A report laid out on the clock (what the spans are built from): phases back to back, hooks in
 * the phase they ran in, nothing past the end of the run.
 */
import t from 'tap'
import { cleanupPhaseHooks, timelineOf } from '../src/observe/timeline.js'
import type { HookReport } from '../src/types.js'
import { sampleReport, STARTED_AT } from './helpers/otel.js'

const t0 = Date.parse(STARTED_AT)
const rel = (i: { start: number, end: number }): [number, number] => [i.start - t0, i.end - t0]
const hook = (name: string, phase: HookReport['phase'], durationMs: number): HookReport => ({ name, phase, outcome: 'ok', durationMs })

t.test('phases follow each other from the signal; hooks run back to back in their phase', async (t) => {
  const timeline = timelineOf(sampleReport())
  t.same(rel(timeline), [0, 1000])
  t.same([timeline.phases.preStop, timeline.phases.drain, timeline.phases.cleanup, timeline.phases.persist].map(rel), [[0, 400], [400, 700], [700, 800], [800, 950]])
  t.same(timeline.hooks.map((h) => [h.hook.name, h.phase, ...rel(h)]), [
    ['queue', 'cleanup', 700, 760], ['cache', 'cleanup', 760, 800], ['state', 'persist', 800, 900], ['db', 'persist', 900, 950]
  ])
})

t.test('rounded durations that add up to more than the run are clamped to its end', async (t) => {
  const report = sampleReport({ durationMs: 949, hooks: [hook('state', 'persist', 150)] })
  const timeline = timelineOf(report)
  t.same(rel(timeline.phases.persist), [800, 949])
  t.same(rel(timeline.hooks[0]!), [800, 949])
})

t.test('without persist hooks, the cleanup phase\'s duration tells which cleanups ran after persistence', async (t) => {
  const phases = (cleanup: number, persist: number) => ({ ...sampleReport().phases, cleanup: { durationMs: cleanup }, persist: { durationMs: persist } })
  // 'queue' (60 ms) fills the cleanup phase; 'db' (after persist) took the 50 ms of the persist phase.
  t.equal(cleanupPhaseHooks(sampleReport({ phases: phases(60, 50), hooks: [hook('queue', 'cleanup', 60), hook('db', 'cleanup', 50)] })), 1)
  t.equal(cleanupPhaseHooks(sampleReport({ phases: phases(110, 0), hooks: [hook('queue', 'cleanup', 60), hook('db', 'cleanup', 50)] })), 2)
  t.equal(cleanupPhaseHooks(sampleReport({ phases: phases(0, 50), hooks: [hook('db', 'cleanup', 50)] })), 0, 'no cleanup before persistence')
  t.equal(cleanupPhaseHooks(sampleReport({ phases: phases(61, 0), hooks: [hook('a', 'cleanup', 30), hook('b', 'cleanup', 31)] })), 2, 'rounding does not push the last one out')
})
