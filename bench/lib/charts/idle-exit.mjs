// Exit time against idle keep-alive sockets: SIGTERM to exit (median of the alternated rounds) for
// each measured number of sockets, per door: graceful as a solid line, the framework's own close()
// as a dashed line of the same colour. Any number of sizes: the x axis follows the results.
export function idleExitSpec (idle) {
  const rows = idle?.results?.rows ?? []
  if (rows.length === 0) return null
  const values = rows.flatMap((r) => [
    { door: r.door, variant: r.graceful.variant, side: 'graceful', sockets: r.sockets, exitMs: r.graceful.medianMs },
    { door: r.door, variant: r.bare.variant, side: "framework's own close()", sockets: r.sockets, exitMs: r.bare.medianMs }
  ])
  const sizes = [...new Set(values.map((v) => v.sockets))].sort((a, b) => a - b)
  const c = idle.results.config
  return {
    title: { text: 'Exit time against idle keep-alive sockets', subtitle: `SIGTERM → exit, median of ${c.rounds} alternated rounds, preStopDelayMs 0. Measured at ${sizes.map((s) => s.toLocaleString('en')).join(', ')} sockets (fd limit ${c.fdLimit}).` },
    width: 520,
    height: 260,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'sockets', type: 'quantitative', title: 'idle keep-alive sockets at SIGTERM', axis: { values: sizes, format: '~s' }, scale: { domain: [0, Math.max(...sizes) * 1.05], nice: false } },
      y: { field: 'exitMs', type: 'quantitative', title: 'SIGTERM → exit (ms)' },
      color: { field: 'door', type: 'nominal', title: null },
      strokeDash: { field: 'side', type: 'nominal', title: null, sort: ['graceful'], legend: { labelLimit: 260 } },
      detail: { field: 'variant' },
      tooltip: [{ field: 'variant' }, { field: 'sockets' }, { field: 'exitMs' }]
    }
  }
}
