// Exit time against idle keep-alive sockets: SIGTERM to exit for each measured number of sockets,
// per variant (graceful's doors as lines, the bare frameworks as points where they were measured).
// Any number of sizes: the x axis follows the results.
const BARE_SHAPES = ['square', 'triangle-up', 'diamond', 'cross']

export function idleExitSpec (idle) {
  const runs = (idle?.results?.runs ?? []).filter((r) => !r.error && typeof r.sigtermToExitMs === 'number')
  if (runs.length === 0) return null
  const values = runs.map((r) => ({ variant: r.variant, sockets: r.sockets, exitMs: r.sigtermToExitMs, graceful: /graceful/.test(r.variant) ? 'graceful' : 'bare' }))
  const sizes = [...new Set(values.map((v) => v.sockets))].sort((a, b) => a - b)
  const x = { field: 'sockets', type: 'quantitative', title: 'idle keep-alive sockets at SIGTERM', axis: { values: sizes, format: '~s' }, scale: { domain: [0, Math.max(...sizes) * 1.05], nice: false } }
  const y = { field: 'exitMs', type: 'quantitative', title: 'SIGTERM → exit (ms)' }
  const color = { field: 'variant', type: 'nominal', title: null, legend: { labelLimit: 260 } }
  return {
    title: { text: 'Exit time against idle keep-alive sockets', subtitle: `Lines: graceful's doors (preStopDelayMs 0); open marks: the frameworks' own close(). Measured at ${sizes.map((s) => s.toLocaleString('en')).join(', ')} sockets (fd limit ${idle.results.config.fdLimit}).` },
    width: 520,
    height: 260,
    data: { values },
    layer: [
      { transform: [{ filter: "datum.graceful === 'graceful'" }], mark: { type: 'line', point: true }, encoding: { x, y, color } },
      // Bare frameworks can land on the same spot: a shape each keeps both visible.
      ...[...new Set(values.filter((v) => v.graceful === 'bare').map((v) => v.variant))].map((variant, i) => ({
        transform: [{ filter: { field: 'variant', equal: variant } }],
        mark: { type: 'point', filled: false, size: 110, strokeWidth: 2, shape: BARE_SHAPES[i % BARE_SHAPES.length] },
        encoding: { x, y, color }
      }))
    ]
  }
}
