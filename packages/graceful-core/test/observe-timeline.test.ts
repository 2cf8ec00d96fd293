/**
 * A report laid out on the clock (what the spans are built from): every phase and hook where the
 * report says it started, for as long as it says it ran.
 */
import t from 'tap'
import { timelineOf } from '../src/observe/timeline.js'
import { hookReport, sampleReport, STARTED_AT } from './helpers/report-fixture.js'

const t0 = Date.parse(STARTED_AT)
const rel = (i: { start: number, end: number }): [number, number] => [i.start - t0, i.end - t0]

t.test('phases and hooks sit where the report\'s startMs puts them, each in the phase it names', async (t) => {
  const timeline = timelineOf(sampleReport())
  t.same(rel(timeline), [0, 1000])
  const { preStop, drain, cleanup, persist, afterPersist } = timeline.phases
  t.same([preStop, drain, cleanup, persist, afterPersist].map(rel), [[0, 400], [400, 700], [700, 800], [800, 900], [900, 950]])
  t.same(timeline.hooks.map((h) => [h.hook.name, h.phase, ...rel(h)]), [
    ['queue', 'cleanup', 700, 760], ['cache', 'cleanup', 760, 800], ['state', 'persist', 800, 900], ['db', 'afterPersist', 900, 950]
  ])
})

t.test('nothing is guessed from durations: a gap between hooks stays a gap', async (t) => {
  // A cleanup hook that started 30 ms into its phase (the phase runner's own work before it) is placed there.
  const report = sampleReport({ hooks: [hookReport('queue', 'cleanup', 730, 20), hookReport('db', 'afterPersist', 940, 5)] })
  const timeline = timelineOf(report)
  t.same(timeline.hooks.map((h) => [h.phase, ...rel(h)]), [['cleanup', 730, 750], ['afterPersist', 940, 945]])
})
