// Long-lived close spread (longLived.spreadMs): WebSocket clients on pod v1 (graceful-core +
// addWebSocketServer) through the LB; pod v2 joins; v1 gets SIGTERM and closes its clients with
// 1012 all at once (spreadMs 0), over 1 s (the default), 3 s or 5 s. Every closed client reconnects
// after a fixed 100 ms, through the LB, to v2: measured on v2 are the reconnects it accepts per
// 100 ms (the peak) and its p99 event-loop delay; on the clients the span from the first close to
// the last, and failed reconnects; on v1 its exit code and SIGTERM → exit. 1,000 and 5,000 clients
// (`--quick`: 300, and only 0 and 3 s; `--variant TEXT`: the rows whose name contains TEXT). The runner holds 2 sockets per client (LB), the clients
// process one: 5,000 clients fit the 20,000 open files and the ephemeral port range.
import { table } from '../lib/table.mjs'
import { websocketConfig, websocketRun } from './websockets.mjs'

/** pre-stop 2 s, then a drain of at least 13 s: a 5 s spread fits half of it whole. */
const graceful = (spreadMs) => ({ preStopDelayMs: 2000, gracePeriodMs: 15_000, longLived: { spreadMs, closeCode: 1012 } })
export const SPREADS_MS = [0, 1000, 3000, 5000]
export const CLIENT_COUNTS = [1000, 5000]

export const spreadHeaders = ['clients', 'spread', 'v1 exit', 'SIGTERM→exit ms', 'close span ms', 'v2 peak per 100 ms', 'v2 p99 loop delay ms', 'failed reconnects', 'all back after ms']
export const spreadRow = (r) => r.error
  ? [r.clients, r.spreadLabel, 'error: ' + r.error.split('\n')[0].slice(0, 80)]
  : [r.clients, r.spreadLabel, r.exitCode, r.sigtermToExitMs, r.closeSpanMs, r.secondInstance.peakPer100Ms, r.secondInstance.loopDelayP99Ms,
      r.failedAttempts, r.allBackMs ?? 'not all']

const label = (spreadMs) => (spreadMs === 0 ? 'all at once' : `over ${spreadMs / 1000} s`)

export async function runWsSpread (args, { log }) {
  const base = websocketConfig(args)
  const counts = args.quick ? [300] : CLIENT_COUNTS
  const spreads = args.quick ? [0, 3000] : SPREADS_MS
  const results = { config: { ...base, clients: counts, spreadsMs: spreads, graceful: graceful('spreadMs') }, runs: [] }
  for (const clients of counts) {
    for (const spreadMs of spreads) {
      const variant = { name: `${clients} clients, ${label(spreadMs)}`, kind: 'ws-graceful', opts: { graceful: graceful(spreadMs) } }
      // --variant '5000 clients, over 3 s' reruns one row (merged into the results file).
      if (args.variant && !variant.name.includes(args.variant)) continue
      log(`ws-spread: ${variant.name} ...`)
      let r
      try {
        r = await websocketRun(variant, { ...base, clients, killAfterMs: 30_000, reconnectWindowMs: 30_000 })
      } catch (err) {
        log(`  FAILED: ${err.stack || err}`)
        r = { variant: variant.name, clients, error: String(err.message || err) }
      }
      Object.assign(r, { spreadMs, spreadLabel: label(spreadMs) })
      results.runs.push(r)
      log(table(spreadHeaders, [spreadRow(r)]))
    }
  }
  log('\nLong-lived close spread: reconnects reaching the second instance')
  log(table(spreadHeaders, results.runs.map(spreadRow)))
  return results
}
