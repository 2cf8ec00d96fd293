/**
 * The demo's closing timeline (examples/service/src/timeline.mjs): every phase and hook of the
 * report in the order they ran, bars on one time axis proportional to their durations, plain ASCII.
 */
import t from 'tap'
import type { ShutdownReport } from 'graceful-core'
import { renderTimeline } from '../examples/service/src/timeline.mjs'
import { hookReport, sampleReport } from '../packages/graceful-core/test/helpers/report-fixture.js'

/** The shared fixture, as the example service's hooks would name them. */
function report (overrides: Partial<ShutdownReport> = {}): ShutdownReport {
  return sampleReport({
    hooks: [hookReport('job-queue', 'cleanup', 700, 100), hookReport('service-state', 'persist', 800, 100), hookReport('sqlite', 'afterPersist', 900, 0)],
    ...overrides
  })
}

/** The bar of the row whose label is `label` (hooks are indented by two spaces). */
function barOf (text: string, label: string): string {
  const line = text.split('\n').find((l) => l.startsWith(label + ' '))
  const bar = /\[([^\]]*)\]/.exec(line ?? '')?.[1]
  if (bar === undefined) throw new Error(`no row '${label}' in:\n${text}`)
  return bar
}

t.test('rows in the order the pipeline ran, each with its duration; hooks under their phase', async (t) => {
  const text = renderTimeline(report(), { width: 40 })
  const labels = text.split('\n').map((l) => /^(\S.*?|  \S+)\s+\[/.exec(l)?.[1]?.trimEnd()).filter(Boolean)
  t.same(labels, ['pre-stop', 'drain', 'cleanup', '  job-queue', 'persist', '  service-state', 'after persist', '  sqlite'], 'the after-persist cleanup has its own phase')
  t.match(text, /^pre-stop +\[[^\]]+\] 400 ms +\/ready 503, 12 new request\(s\) served; ended by fixed$/m)
  t.match(text, /^drain +\[[^\]]+\] 300 ms +listener closed at \+402 ms; sockets 7 idle \/ 4 after response \/ 1 destroyed/m)
  t.match(text, /^  service-state +\[[^\]]+\] 100 ms +ok$/m)
  t.match(text, /SIGTERM -> exit 0 in 1000 ms \(complete\)/)
  t.match(text, /^exit +code 0 at \+1000 ms$/m)
})

t.test('bars sit on one axis from the signal to the exit, as long as their share of the run', async (t) => {
  const text = renderTimeline(report(), { width: 40 })
  t.equal(barOf(text, 'pre-stop'), '#'.repeat(16) + '.'.repeat(24), '400 ms of 1000, from the start')
  t.equal(barOf(text, 'drain'), '.'.repeat(16) + '#'.repeat(12) + '.'.repeat(12), 'then 300 ms')
  t.equal(barOf(text, '  job-queue'), '.'.repeat(28) + '#'.repeat(4) + '.'.repeat(8), 'a hook inside its phase')
  t.equal(barOf(text, '  sqlite'), '.'.repeat(36) + '|' + '.'.repeat(3), 'a 0 ms hook is a tick where it ran')
  for (const line of text.split('\n').filter((l) => l.includes('['))) t.equal(line.indexOf('['), text.split('\n')[2]!.indexOf('['), 'the bars line up')
})

t.test('plain ASCII: no colour codes, nothing a terminal without Unicode would garble', async (t) => {
  // eslint-disable-next-line no-control-regex
  t.notMatch(renderTimeline(report()), /[^\x20-\x7e\n]/)
})

t.test('a forced run and its faults say so', async (t) => {
  const text = renderTimeline(report({ forced: true, forcedDuring: 'cleanup', exitCode: 1, faults: [{ name: 'Error', message: 'boom' }] }))
  t.match(text, /-> exit 1 in 1000 ms \(FORCED during cleanup\)/)
  t.match(text, /^faults: Error: boom$/m)
})

t.test('a run without hooks says so in its cleanup, persist and after-persist rows', async (t) => {
  const text = renderTimeline(report({ hooks: [] }))
  t.match(text, /^cleanup +\[[^\]]+\] 100 ms +no hooks$/m)
  t.match(text, /^persist +\[[^\]]+\] 100 ms +no hooks$/m)
  t.match(text, /^after persist +\[[^\]]+\] +50 ms +no hooks$/m)
})
