// Runtimes: per runtime and door, the requests a rolling update failed (LB lag 2 s) and the
// connect storm's resets (ECONNRESET, summed over its shutdowns), side by side. Refused connects
// are safe to retry and not drawn. Any set of runtimes: the axis follows the results.
export function runtimesSpec (runtimes) {
  const runs = (runtimes?.results?.runs ?? []).filter((r) => !r.skipped && !r.error)
  if (runs.length === 0) return null
  const c = runtimes.results.config
  const values = runs.flatMap((r) => [
    { runtime: r.runtime, door: r.variant, measure: `rolling update: failed of ~${Math.round(r.rolling.requests / 1000)}k`, count: r.rolling.failed },
    { runtime: r.runtime, door: r.variant, measure: `connect storm: ECONNRESET, ${r.storm.shutdowns.length} shutdowns`, count: r.storm.counts.reset }
  ])
  return {
    title: { text: 'Failed requests per runtime', subtitle: `Rolling update behind an LB with ${c.lagMs / 1000} s lag (preStopDelayMs ${c.graceful.preStopDelayMs}); connect storm: ${c.storm.clients} clients, a new connection per request, preStopDelayMs ${c.storm.preStopDelayMs}.` },
    data: { values },
    width: 300,
    height: 200,
    mark: { type: 'bar' },
    encoding: {
      column: { field: 'measure', type: 'nominal', title: null },
      x: { field: 'runtime', type: 'nominal', title: null, sort: [...new Set(runs.map((r) => r.runtime))] },
      xOffset: { field: 'door', type: 'nominal' },
      y: { field: 'count', type: 'quantitative', title: 'requests' },
      color: { field: 'door', type: 'nominal', title: null },
      tooltip: [{ field: 'runtime' }, { field: 'door' }, { field: 'measure' }, { field: 'count' }]
    }
  }
}
