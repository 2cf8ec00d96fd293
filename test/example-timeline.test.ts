/**
 * The demo's closing timeline (examples/service/src/timeline.mjs): every phase and hook of the
 * report in the order they ran, bars on one time axis proportional to their durations, plain ASCII.
 */
import t from 'tap'
import type { ShutdownReport } from 'graceful-core'
import { renderTimeline } from '../examples/service/src/timeline.mjs'

function report (overrides: Partial<ShutdownReport> = {}): ShutdownReport {
  return {
    reason: 'SIGTERM',
    startedAt: '2026-12-01T10:00:00.000Z',
    endedAt: '2026-12-01T10:00:01.000Z',
    durationMs: 1000,
    exitCode: 0,
    forced: false,
    phases: {
      preStop: { durationMs: 500, endedBy: 'fixed', requests: 40 },
      drain: { durationMs: 250, listenerClosedAtMs: 502, listenerClosedBy: 'graceful', acceptedAfterDrainBegan: 0 },
      cleanup: { durationMs: 100 },
      persist: { durationMs: 150 }
    },
    requests: { inFlightAtSignal: 4, completedDuringDrain: 44 },
    sockets: { closedIdle: 2, closedAfterResponse: 5, forced: 0 },
    tasks: { finished: 1, failed: 0, aborted: 0 },
    longLived: { streamsEnded: 0, webSocketsClosed: 0, webSocketsTerminated: 0, closeCodes: {}, spreadMs: 0, held: 0, holdsExpired: 0 },
    hooks: [
      { name: 'job-queue', phase: 'cleanup', outcome: 'ok', durationMs: 100 },
      { name: 'service-state', phase: 'persist', outcome: 'ok', durationMs: 100 },
      { name: 'sqlite', phase: 'cleanup', outcome: 'ok', durationMs: 0 }
    ],
    startup: { ready: true, durationMs: 10, tasks: [] },
    faults: [],
    ...overrides
  }
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
  t.same(labels, ['pre-stop', 'drain', 'cleanup', '  job-queue', 'persist', '  service-state', '  sqlite'], 'the after-persist cleanup is listed under persist')
  t.match(text, /^pre-stop +\[[^\]]+\] 500 ms +\/ready 503, 40 new request\(s\) served; ended by fixed$/m)
  t.match(text, /^drain +\[[^\]]+\] 250 ms +listener closed at \+502 ms; sockets 2 idle \/ 5 after response \/ 0 forced/m)
  t.match(text, /^  service-state +\[[^\]]+\] 100 ms +ok$/m)
  t.match(text, /SIGTERM -> exit 0 in 1000 ms \(complete\)/)
  t.match(text, /^exit +code 0 at \+1000 ms$/m)
})

t.test('bars sit on one axis from the signal to the exit, as long as their share of the run', async (t) => {
  const text = renderTimeline(report(), { width: 40 })
  t.equal(barOf(text, 'pre-stop'), '#'.repeat(20) + '.'.repeat(20), 'half of the run, from the start')
  t.equal(barOf(text, 'drain'), '.'.repeat(20) + '#'.repeat(10) + '.'.repeat(10), 'then a quarter')
  t.equal(barOf(text, '  job-queue'), '.'.repeat(30) + '#'.repeat(4) + '.'.repeat(6), 'a hook inside its phase')
  t.equal(barOf(text, '  sqlite'), '.'.repeat(38) + '|' + '.', 'a 0 ms hook is a tick where it ran')
  for (const line of text.split('\n').filter((l) => l.includes('['))) t.equal(line.indexOf('['), text.split('\n')[2]!.indexOf('['), 'the bars line up')
})

t.test('plain ASCII: no colour codes, nothing a terminal without Unicode would garble', async (t) => {
  // eslint-disable-next-line no-control-regex
  t.notMatch(renderTimeline(report()), /[^\x20-\x7e\n]/)
})

t.test('a forced run and its faults say so', async (t) => {
  const text = renderTimeline(report({ forced: true, forcedDuring: 'cleaning', exitCode: 1, faults: [{ name: 'Error', message: 'boom' }] }))
  t.match(text, /-> exit 1 in 1000 ms \(FORCED during cleaning\)/)
  t.match(text, /^faults: Error: boom$/m)
})

t.test('a run without hooks says so in its cleanup and persist rows', async (t) => {
  const text = renderTimeline(report({ hooks: [] }))
  t.match(text, /^cleanup +\[[^\]]+\] 100 ms +no hooks$/m)
  t.match(text, /^persist +\[[^\]]+\] 150 ms +no hooks$/m)
})
