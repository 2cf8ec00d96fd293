// Long-lived close spread: the peak of WebSocket reconnects the second instance accepted per 100 ms
// against the window the old instance spread its closes over (0: all at once), one line per client
// count; in the tooltip the p99 event-loop delay of the second instance, the client processes and
// the peak of closes the old instance sent per 100 ms (rows measured before it was observed: none).
export function wsSpreadSpec (spread) {
  // A comparison row (another client setup for the same count and window) is not a point of the line.
  const runs = (spread?.results?.runs ?? []).filter((r) => !r.error && !r.comparison)
  if (runs.length === 0) return null
  const values = runs.map((r) => ({
    clients: `${r.clients.toLocaleString('en')} clients`,
    spreadS: r.spreadMs / 1000,
    peak: r.secondInstance.peakPer100Ms,
    loopDelayP99Ms: r.secondInstance.loopDelayP99Ms,
    closeSpanMs: r.closeSpanMs,
    failed: r.failedAttempts,
    clientProcesses: r.clientProcesses ?? 1,
    v1SendsPeak: r.firstInstance?.sendsPeakPer100Ms ?? null
  }))
  return {
    title: { text: 'Reconnect storm on the remaining instance', subtitle: 'Peak WebSocket reconnects accepted per 100 ms by the second instance, against longLived.spreadMs of the one shutting down (close 1012; clients reconnect after 100 ms).' },
    width: 520,
    height: 260,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'spreadS', type: 'quantitative', title: 'longLived.spreadMs (s; 0 = all at once)', axis: { values: [...new Set(values.map((v) => v.spreadS))] } },
      y: { field: 'peak', type: 'quantitative', title: 'peak reconnects per 100 ms on the second instance' },
      color: { field: 'clients', type: 'nominal', title: null },
      tooltip: [{ field: 'clients' }, { field: 'spreadS' }, { field: 'peak' }, { field: 'loopDelayP99Ms' }, { field: 'closeSpanMs' }, { field: 'failed' }, { field: 'clientProcesses' }, { field: 'v1SendsPeak' }]
    }
  }
}
