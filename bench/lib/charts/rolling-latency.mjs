// The rolling update's latency over time: per variant (rows) and protocol (plain HTTP, TLS:
// columns), p50 and p99 of the fast requests that succeeded per 250 ms, by the time they were sent
// (log scale: a handshake queue is a hundred times the steady p50), and under it the connections the
// LB and the direct clients opened per 250 ms, which is what a `Connection: close` costs. Dashed:
// SIGTERM, the old pod out of the LB's rotation, its exit. Only runs that recorded latency are drawn.

const PROTOCOLS = [['main', 'HTTP'], ['tls', 'TLS']]
const WIDTH = 300
const MAX_MS = 8000
const STAT_COLORS = { p50: '#1f77b4', p99: '#e6550d' }

/** [{ base, cells: { HTTP: run, TLS: run } }] in `order` (the HTTP variants' names); [] when none has latency. */
export function latencyPairs (results, order = []) {
  const pairs = new Map()
  for (const [group, protocol] of PROTOCOLS) {
    for (const run of results?.[group] ?? []) {
      if (!run.latency?.series) continue
      const base = protocol === 'TLS' ? run.variant.replace(/, TLS$/, '') : run.variant
      if (!pairs.has(base)) pairs.set(base, { base, cells: {} })
      pairs.get(base).cells[protocol] = run
    }
  }
  const rank = (p) => { const i = order.indexOf(p.base); return i < 0 ? order.length : i }
  // A variant with no TLS twin (the 1 s pre-stop, shorter than the LB's detection on purpose) is left out.
  return [...pairs.values()].filter((p) => p.cells.TLS || !results?.tls?.length).sort((a, b) => rank(a) - rank(b))
}

export function rollingLatencySpec (pairs) {
  if (pairs.length === 0) return null
  const runs = pairs.flatMap((p) => Object.values(p.cells))
  // Up to 8 s after SIGTERM: a pod that hangs until SIGKILL (fastify#7044) would squeeze the others' rollouts into a corner.
  const maxMs = Math.min(MAX_MS, Math.max(...runs.map((r) => r.timeline.exitMs)) + 1000)
  const domain = [-2000, maxMs]
  const x = { field: 'ms', type: 'quantitative', title: 'ms after SIGTERM (by send time)', scale: { domain, nice: false }, axis: { values: seconds(domain), format: 'd' } }
  const maxLatency = Math.max(...runs.flatMap((r) => r.latency.series.p99))
  const maxConnects = Math.max(1, ...runs.flatMap((r) => r.latency.series.connects))
  const y = { scale: { type: 'log', domain: [0.5, Math.max(10, maxLatency * 1.2)] } }
  return {
    title: {
      text: 'Rolling update: latency per 250 ms through the rollout, plain HTTP and TLS',
      subtitle: ['p50 and p99 (log scale) of the fast requests that succeeded, by the 250 ms they were sent in; below: connections opened to the pods.',
        'Dashed: SIGTERM, old pod out of the LB\'s rotation, old pod exit.']
    },
    spacing: 14,
    vconcat: pairs.map((p) => ({
      spacing: 12,
      hconcat: PROTOCOLS.map(([, protocol]) => p.cells[protocol]
        ? panel(p.cells[protocol], protocol, x, y, maxConnects)
        : { title: { text: `${p.base}, ${protocol}: not measured`, fontSize: 11 }, width: WIDTH, height: 20, mark: 'text', data: { values: [{}] } })
    })),
    resolve: { scale: { color: 'shared' } }
  }
}

function seconds ([from, to]) {
  const out = []
  for (let ms = Math.ceil(from / 1000) * 1000; ms <= to; ms += 1000) out.push(ms)
  return out
}

function panel (run, protocol, x, y, maxConnects) {
  const s = run.latency.series
  const at = (i) => s.fromMs + i * s.bucketMs
  // A bucket is drawn at its middle; empty buckets (the old pod gone, a stall) are left out.
  const lines = s.n.flatMap((n, i) => (n === 0 ? [] : [
    { ms: at(i) + s.bucketMs / 2, stat: 'p50', value: Math.max(0.5, s.p50[i]) },
    { ms: at(i) + s.bucketMs / 2, stat: 'p99', value: Math.max(0.5, s.p99[i]) }
  ]))
  const connects = s.connects.map((count, i) => ({ ms: at(i), end: at(i) + s.bucketMs, count })).filter((c) => c.count > 0)
  const marks = [['SIGTERM', 0], ['out of rotation', run.timeline.outOfRotationMs], ['exit', run.timeline.exitMs]]
    .filter(([, ms]) => typeof ms === 'number').map(([label, ms]) => ({ label, ms }))
  const rule = (axis) => ({ data: { values: marks }, mark: { type: 'rule', strokeDash: [4, 3], color: '#333', clip: true }, encoding: { x: { ...x, axis } } })
  const l = run.latency
  const ratio = l.p99Ratio === null ? '—' : `${l.p99Ratio.toFixed(2)}×`
  return {
    title: { text: `${run.variant.replace(/, TLS$/, '')}, ${protocol}`, subtitle: `p99 ${l.steady.p99} → ${l.rollout.p99} ms (${ratio}), p50 ${l.steady.p50} → ${l.rollout.p50} ms, ${l.rollout.connections.count} connections${run.timeline.exitMs > MAX_MS ? `, exit at ${run.timeline.exitMs} ms` : ''}`, fontSize: 11, subtitleFontSize: 10 },
    spacing: 2,
    vconcat: [
      {
        width: WIDTH,
        height: 80,
        layer: [
          {
            data: { values: lines },
            mark: { type: 'line', point: { size: 10 }, strokeWidth: 1.5, clip: true },
            encoding: {
              x: { ...x, axis: { ...x.axis, labels: false, title: null } },
              y: { field: 'value', type: 'quantitative', title: 'ms', ...y },
              color: { field: 'stat', type: 'nominal', title: null, scale: { domain: Object.keys(STAT_COLORS), range: Object.values(STAT_COLORS) } }
            }
          },
          rule({ ...x.axis, labels: false, title: null })
        ]
      },
      {
        width: WIDTH,
        height: 28,
        layer: [
          { data: { values: connects }, mark: { type: 'bar', color: '#8c8c8c', clip: true }, encoding: { x: { ...x, bin: { binned: true, step: s.bucketMs } }, x2: { field: 'end' }, y: { field: 'count', type: 'quantitative', title: 'conns', scale: { domain: [0, maxConnects] }, axis: { tickCount: 2 } } } },
          rule(x.axis)
        ]
      }
    ]
  }
}
