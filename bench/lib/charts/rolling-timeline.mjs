// The rolling-update timeline: per variant, requests sent per 100 ms by outcome (ok above, failed
// below, each on its own scale so a handful of failures is visible next to a hundred successes),
// with the moments that explain them: SIGTERM, the first readiness 503 the LB saw, the old pod's
// listener close and its exit. Variants in the table's order: graceful first, then the bare
// frameworks and terminus. Only runs that recorded a series (bench/lib/series.mjs) are drawn.
import { KIND_LABEL } from '../load.mjs'
import { seriesRows } from '../series.mjs'

const MARKS = [
  ['SIGTERM', () => 0],
  ['readiness 503', (r) => r.timeline.readiness503Ms],
  ['listener closed', (r) => r.timeline.listenerClosedMs],
  ['exit', (r) => r.timeline.exitMs]
]
const FAILED_COLORS = { '5xx': '#d62728', reset: '#9467bd', closed: '#8c564b', refused: '#ff7f0e', timeout: '#e377c2', other: '#7f7f7f' }
const WIDTH = 640

/** The runs that have a time series, in `order` (the variants' names); [] when none has one. */
export function timelineRuns (runs = [], order = []) {
  const rank = (r) => { const i = order.indexOf(r.variant); return i < 0 ? order.length : i }
  return runs.filter((r) => r.series && r.timeline).sort((a, b) => rank(a) - rank(b))
}

export function rollingTimelineSpec (runs) {
  if (runs.length === 0) return null
  const maxMs = Math.max(...runs.map((r) => r.timeline.exitMs)) + 1500
  const domain = [-1000, maxMs]
  const seconds = Array.from({ length: Math.floor(maxMs / 1000) + 2 }, (_, i) => (i - 1) * 1000).filter((ms) => ms <= maxMs)
  const x = { field: 'ms', type: 'quantitative', title: 'ms after SIGTERM', scale: { domain, nice: false }, axis: { values: seconds, format: 'd' } }
  const failedKinds = Object.keys(FAILED_COLORS).filter((k) => runs.some((r) => r.series.counts[k]))
  const color = { domain: failedKinds.map((k) => KIND_LABEL[k]), range: failedKinds.map((k) => FAILED_COLORS[k]) }
  return {
    title: {
      text: 'Rolling update: requests per 100 ms around the old pod\'s SIGTERM',
      subtitle: 'Requests counted in the 100 ms they were sent in. Green: ok. Below: failed, by kind (own scale). Dashed: SIGTERM, first readiness 503 the LB saw, listener closed, exit.'
    },
    spacing: 16,
    vconcat: runs.map((r) => variantPanel(r, x, color, domain)),
    resolve: { scale: { color: 'shared' } }
  }
}

function variantPanel (run, x, color, [from, to]) {
  const rows = seriesRows(run.series)
    .filter((row) => row.ms >= from && row.ms + run.series.bucketMs <= to)
    .map((row) => ({ ...row, end: row.ms + run.series.bucketMs, label: KIND_LABEL[row.kind] ?? row.kind }))
  // Labels one under the other: the marks can be a few ms apart (SIGTERM and the first 503).
  const marks = MARKS.map(([label, at]) => ({ label, ms: at(run) })).filter((m) => typeof m.ms === 'number').map((m, i) => ({ ...m, row: i * 12 + 2 }))
  const rules = { data: { values: marks }, mark: { type: 'rule', strokeDash: [4, 3], color: '#333' }, encoding: { x } }
  const labels = { data: { values: marks }, mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, fontSize: 10, color: '#222' }, encoding: { x, y: { field: 'row', type: 'quantitative', scale: null }, text: { field: 'label' } } }
  // Binned x: one bar per 100 ms bucket, from its start to its end.
  const binned = { ...x, bin: { binned: true, step: run.series.bucketMs } }
  const bars = (values, y, extra = {}) => ({ data: { values }, mark: { type: 'bar', ...extra.mark }, encoding: { x: binned, x2: { field: 'end' }, y, ...extra.encoding } })
  const failed = rows.filter((r) => r.kind !== 'ok')
  return {
    title: { text: `${run.variant}: ${run.failed} of ${run.requests} failed, exit ${run.exitCode} after ${run.sigtermToExitMs} ms`, fontSize: 12 },
    spacing: 4,
    vconcat: [
      {
        width: WIDTH,
        height: 70,
        layer: [bars(rows.filter((r) => r.kind === 'ok'), { field: 'count', type: 'quantitative', title: 'ok' }, { mark: { color: '#59a14f' } }), rules, labels]
      },
      {
        width: WIDTH,
        height: 45,
        layer: [
          failed.length > 0
            ? bars(failed, { field: 'count', type: 'quantitative', title: 'failed', stack: 'zero', scale: { domainMin: 0 } },
              { encoding: { color: { field: 'label', type: 'nominal', title: 'failed', scale: color } } })
            : { data: { values: [{ ms: 0 }] }, mark: { type: 'text', text: 'no failed request', fontSize: 11, color: '#555' }, encoding: { x: { value: WIDTH / 2 }, y: { value: 22 } } },
          rules
        ]
      }
    ]
  }
}
