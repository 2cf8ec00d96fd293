/**
 * The rolling update's latency log (bench/lib/latency.mjs): a request belongs to the window it was
 * sent in, the percentiles are nearest-rank over the fast requests that succeeded, the log grows
 * past its first arrays, and the goal is judged against the terminus row of the same protocol.
 */
import t from 'tap'
import { createConnectionLog, createLatencyLog, latencyResults, meetsGoal, pooledLatency, windowStats } from '../bench/lib/latency.mjs'
import { pinnedResults } from '../bench/lib/pinned.mjs'

const KINDS = ['ok', '5xx', 'reset']

t.test('windows by send time, fast requests that succeeded only, nearest rank', async (t) => {
  const log = createLatencyLog(KINDS, 4)
  // 100 fast ok requests sent at 0..99 ms taking 1..100 ms; one slow, one failed, one sent at 100.
  for (let i = 0; i < 100; i++) log.add(i, i + 1, 'ok', i % 2 ? 'direct' : 'proxy', false, 'v1')
  log.add(50, 5000, 'ok', 'proxy', true, 'v1')
  log.add(50, 2, 'reset', 'direct', false, 'v1')
  log.add(100, 9999, 'ok', 'proxy', false, 'v2')
  t.equal(log.length, 103, 'grew past its first arrays')
  const snap = log.snapshot()
  t.same(windowStats(snap, 0, 100), { n: 100, p50: 50, p99: 99, max: 100 }, 'slow, failed and later requests left out')
  t.same(windowStats(snap, 0, 101).max, 9999, 'a request sent inside the window counts however long it took')
  t.equal(windowStats(snap, 0, 100, { via: 'direct' }).n, 50, 'by route')
  t.same(windowStats(snap, 0, 200, { pod: 'v2' }), { n: 1, p50: 9999, p99: 9999, max: 9999 }, 'by pod')
  t.same(windowStats(snap, 500, 600), { n: 0, p50: null, p99: null, max: null }, 'an empty window')
})

t.test('latencyResults: the windows, their ratio, connections and a series', async (t) => {
  const log = createLatencyLog(KINDS)
  for (let i = 0; i < 1000; i++) log.add(i, i < 990 ? 2 : 10, 'ok', 'proxy', false, 'v1')
  for (let i = 1000; i < 2000; i++) log.add(i, i < 1990 ? 3 : 12, 'ok', 'proxy', false, 'v1')
  const conns = createConnectionLog()
  conns.add('v1', 'lb', 1100, 1.5, true, true)
  conns.add('v1', 'lb', 1200, 2.5, true, true)
  const r = latencyResults(log.snapshot(), conns.list, { steady: [0, 1000], rollout: [1000, 2000], origin: 1000, tailMs: 0 })
  t.same([r.steady.p50, r.steady.p99, r.rollout.p50, r.rollout.p99], [2, 2, 3, 3])
  t.equal(r.p99Ratio, 1.5)
  t.same([r.steady.fromMs, r.rollout.toMs], [-1000, 1000], 'windows in ms after SIGTERM')
  t.same(r.rollout.connections, { count: 2, perSecond: 2, byPod: { v1: 2 }, resumed: 2, connectMsP50: 1.5, connectMsP99: 2.5 })
  t.equal(r.series.bucketMs, 250)
  t.equal(r.series.n.length, 12, 'from 2 s before SIGTERM to the exit')
  t.equal(r.series.connects.reduce((a, b) => a + b, 0), 2)
  t.equal(r.surge, undefined, 'no surge window unless asked for')
  const withSurge = latencyResults(log.snapshot(), conns.list, { steady: [0, 500], surge: [500, 1000], rollout: [1000, 2000], origin: 1000, tailMs: 0 })
  t.same([withSurge.steady.n, withSurge.surge?.n, withSurge.surge?.fromMs], [500, 500, -500], 'the surge: both pods serving, before SIGTERM')
  t.equal(withSurge.p99Ratio, 1.5, 'the ratio stays rollout against steady')
  t.equal(r.control, undefined, 'no control window unless asked for')
  const withControl = latencyResults(log.snapshot(), conns.list, { steady: [0, 500], control: [500, 1000], rollout: [1000, 2000], origin: 1000, tailMs: 0 })
  t.same([withControl.control?.n, withControl.control?.p99, withControl.controlRatio], [500, 10, 5], 'the control: the same pod alone after the steady window, its p99 against steady\'s')
  t.equal(withControl.p99Ratio, 1.5, 'the control does not change the rollout\'s ratio')
})

t.test('the goal: p99 ratio, p50 against terminus of the same list, 0 failed', async (t) => {
  const row = (variant: string, ratio: number, p50: number, failed = 0): object => ({ variant, failed, latency: { p99Ratio: ratio, rollout: { p50 } } })
  const checks = meetsGoal([row('ours', 1.1, 2), row('slow', 1.5, 9, 3), row('@godaddy/terminus', 1, 3)], '@godaddy/terminus')
  t.same(checks[0], { variant: 'ours', p99: true, p50: true, failed: true })
  t.same(checks[1], { variant: 'slow', p99: false, p50: false, failed: false })
})

t.test('several rollouts of a row pooled: percentiles over every rollout\'s requests, failures summed, the goal judged on the pool', async (t) => {
  const sorted = (from: number, count: number): Float64Array => Float64Array.from({ length: count }, (_, i) => from + i)
  // Steady 1..100 ms in each; rollout 1..100 ms in the first and 101..200 ms in the second.
  const runs = [
    { failed: 0, latency: { p99Ratio: 1, controlRatio: 1 }, samples: { steady: sorted(1, 100), control: sorted(1, 100), rollout: sorted(1, 100), rolloutOldPod: sorted(1, 100), rolloutNewPod: sorted(1, 0) } },
    { failed: 2, latency: { p99Ratio: 2, controlRatio: 0.5 }, samples: { steady: sorted(1, 100), control: sorted(1, 50), rollout: sorted(101, 100), rolloutOldPod: sorted(1, 0), rolloutNewPod: sorted(101, 100) } }
  ]
  const pooled = pooledLatency(runs)
  t.same([pooled.rollouts, pooled.steady.n, pooled.steady.p99, pooled.rollout.p50, pooled.rollout.p99, pooled.failed], [2, 200, 99, 100, 198, 2])
  t.equal(pooled.p99Ratio, 2, '198 ms against 99 ms')
  t.same(pooled.ratios, [1, 2], 'each rollout\'s own ratio kept beside')
  t.same(pooled.p99RatioByPod, { old: 1, new: 2.01 }, 'each pod\'s requests pooled: 99 ms and 199 ms against 99 ms')
  t.same([pooled.control?.n, pooled.control?.p99, pooled.controlRatio, pooled.controlRatios], [150, 99, 1, [1, 0.5]], 'the controls pooled the same way')
  t.equal(pooledLatency(runs.map((run) => ({ ...run, samples: { steady: run.samples.steady, rollout: run.samples.rollout } }))).control, undefined, 'no control without control samples')
  const row = { variant: 'ours', failed: 0, latency: { p99Ratio: 1, rollout: { p50: 1 }, pooled } }
  t.same(meetsGoal([row], 'none')[0], { variant: 'ours', p99: false, p50: null, failed: false }, 'judged on the pool, not on the first rollout')
})

t.test('pinned clients: the old pod\'s requests after the LB took it out, the reconnects by pod and their peak per 100 ms', async (t) => {
  const log = createLatencyLog(['ok', '5xx', 'reset'])
  // SIGTERM at 1000, the LB takes v1 out at 2500, v1 exits at 3000.
  for (const at of [2000, 2600, 2700]) log.add(at, 1, 'ok', 'direct', false, 'v1')
  log.add(2800, 1, 'ok', 'proxy', false, 'v1')
  log.add(2900, 1, 'reset', 'direct', false, 'v1')
  log.add(2900, 1, 'ok', 'direct', false, 'v2')
  const conns = createConnectionLog()
  conns.add('v1', 'direct', 900, 1, false, false)
  conns.add('v1', 'direct', 1500, 1, false, false)
  for (const at of [2510, 2550, 2590, 2700]) conns.add('v2', 'direct', at, 1, false, false)
  conns.add('v2', 'lb', 2520, 1, false, false)
  conns.add('v2', 'direct', 4500, 1, false, false)
  const r = pinnedResults(log.snapshot(), conns.list, { sigterm: 1000, outOfRotation: 2500, exit: 3000 })
  t.same(r, { oldPodAfterOutOfRotation: 2, reconnectsToOldPod: 1, reconnectsToNewPod: 4, peakReconnectsPer100ms: 3 },
    'the direct requests v1 served after 2500 that succeeded; direct connections from SIGTERM to a second after the exit, by pod; three in one 100 ms')
  t.equal(pinnedResults(log.snapshot(), conns.list, { sigterm: 1000, outOfRotation: undefined, exit: 3000 }).oldPodAfterOutOfRotation, null, 'never taken out')
})
