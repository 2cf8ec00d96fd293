// Long-lived close spread (longLived.spreadMs): WebSocket clients (bench/lib/ws-clients.mjs) on
// instance v1 (graceful-core + addWebSocketServer); v1 gets SIGTERM and closes its clients with
// 1012 all at once (spreadMs 0), over 1 s (the default), 3 s or 5 s. Every closed client reconnects
// after a fixed 100 ms straight to instance v2 (no LB: the storm reaches v2 as the clients make it).
// Measured on v2: the reconnects it accepts per 100 ms (the peak) and its p99 event-loop delay; on
// the clients: the span from the first close to the last, and failed reconnects; on v1: its exit
// code and SIGTERM → exit. 1,000 and 5,000 clients (`--quick`: 300, and only 0 and 3 s;
// `--variant TEXT`: the rows whose name contains TEXT). Each client holds one socket in the clients
// process and one in v1 or v2: 5,000 clients fit the 20,000 open files and the ephemeral ports.
import { sleep, startNode, terminate } from '../lib/children.mjs'
import { table } from '../lib/table.mjs'
import { exitLabel } from './rolling.mjs'
import { per100Ms } from './websockets.mjs'

const POD = new URL('../lib/pod.mjs', import.meta.url)
const CLIENTS = new URL('../lib/ws-clients.mjs', import.meta.url)
const RECONNECT_DELAY_MS = 100
const KILL_AFTER_MS = 30_000
/** No load balancer to wait for: the drain (and the spread) begins at SIGTERM; a 5 s spread fits half of the 15 s drain whole. */
const graceful = (spreadMs) => ({ preStopDelayMs: 0, gracePeriodMs: 15_000, longLived: { spreadMs, closeCode: 1012 } })
async function progress (clients, check, ms, what) {
  const end = performance.now() + ms
  while (performance.now() < end) {
    clients.send('progress')
    const p = await clients.next('progress', 5000)
    if (check(p)) return p
    await sleep(100)
  }
  throw new Error(`timeout (${ms} ms): ${what}`)
}

/** One row: `clientCount` clients on v1, SIGTERM with this spread, every client back on v2 (or 30 s). */
async function spreadRun (clientCount, spreadMs) {
  const opts = JSON.stringify({ graceful: graceful(spreadMs), maxLifeMs: 180_000 })
  const v1 = startNode(POD, ['ws-graceful', opts])
  const v2 = startNode(POD, ['ws-graceful', opts])
  let clients = null
  try {
    const [p1, p2] = await Promise.all([v1.next('listening', 20_000), v2.next('listening', 20_000)])
    clients = startNode(CLIENTS, [p1.port, clientCount, RECONNECT_DELAY_MS, p2.port])
    await clients.next('connected', 120_000)
    await progress(clients, (p) => p.open === clientCount, 20_000, 'every client open')
    await sleep(500)
    v2.send('ws-reset')
    const tTerm = performance.now()
    const t0 = performance.timeOrigin + tTerm
    const exit = await terminate(v1, KILL_AFTER_MS)
    let backAt = null
    try {
      backAt = (await progress(clients, (p) => p.open === clientCount && p.closes >= clientCount, 30_000, 'every client back')).at
    } catch {}
    await sleep(500)
    clients.send('stats')
    const stats = await clients.next('stats', 20_000)
    v2.send('ws-stats')
    const onV2 = await v2.next('ws-stats', 20_000)
    const report = v1.messages.find((m) => m.type === 'report')?.report ?? null
    const failures = {}
    for (const a of stats.attempts) if (!a.ok) failures[a.reason ?? 'unknown'] = (failures[a.reason ?? 'unknown'] ?? 0) + 1
    const v2Buckets = per100Ms(onV2.connectedAt, t0)
    const closes = stats.closedAt.map((at) => at - t0)
    return {
      variant: `${clientCount} clients, ${label(spreadMs)}`,
      clients: clientCount,
      spreadMs,
      spreadLabel: label(spreadMs),
      exitCode: exitLabel(exit),
      sigtermToExitMs: Math.round(exit.at - tTerm),
      gracePeriodMs: graceful(spreadMs).gracePeriodMs,
      closeCodes: stats.closeCodes,
      firstCloseMs: closes.length ? Math.round(Math.min(...closes)) : null,
      closeSpanMs: closes.length ? Math.round(Math.max(...closes) - Math.min(...closes)) : null,
      closesPeakPer100Ms: Math.max(0, ...Object.values(per100Ms(stats.closedAt, t0))),
      reconnectAttempts: stats.attempts.length,
      failedAttempts: stats.attempts.filter((a) => !a.ok).length,
      failures,
      allBackMs: backAt === null ? null : Math.round(backAt - t0),
      openAtEnd: stats.open,
      secondInstance: {
        accepted: onV2.connectedAt.length,
        peakPer100Ms: Math.max(0, ...Object.values(v2Buckets)),
        loopDelayP99Ms: Math.round(onV2.loopDelayP99Ms * 10) / 10,
        loopDelayMaxMs: Math.round(onV2.loopDelayMaxMs * 10) / 10,
        perHundredMs: v2Buckets
      },
      longLived: report?.longLived ?? null,
      reportExitCode: report?.exitCode ?? null
    }
  } finally {
    if (clients) { clients.send('stop'); await clients.stop(3000) }
    v1.kill('SIGKILL')
    await v2.stop(3000)
  }
}

export const SPREADS_MS = [0, 1000, 3000, 5000]
export const CLIENT_COUNTS = [1000, 5000]

export const spreadHeaders = ['clients', 'spread', 'v1 exit', 'SIGTERM→exit ms', 'close span ms', 'closes peak per 100 ms', 'v2 peak per 100 ms', 'v2 p99 loop delay ms', 'failed reconnects', 'all back after ms']
export const spreadRow = (r) => r.error
  ? [r.clients, r.spreadLabel, 'error: ' + r.error.split('\n')[0].slice(0, 80)]
  : [r.clients, r.spreadLabel, r.exitCode, r.sigtermToExitMs, r.closeSpanMs, r.closesPeakPer100Ms, r.secondInstance.peakPer100Ms, r.secondInstance.loopDelayP99Ms,
      r.failedAttempts, r.allBackMs ?? 'not all']

const label = (spreadMs) => (spreadMs === 0 ? 'all at once' : `over ${spreadMs / 1000} s`)

export async function runWsSpread (args, { log }) {
  const counts = args.quick ? [300] : CLIENT_COUNTS
  const spreads = args.quick ? [0, 3000] : SPREADS_MS
  const results = { config: { clients: counts, spreadsMs: spreads, reconnectDelayMs: RECONNECT_DELAY_MS, graceful: graceful('spreadMs') }, runs: [] }
  for (const clients of counts) {
    for (const spreadMs of spreads) {
      const name = `${clients} clients, ${label(spreadMs)}`
      // --variant '5000 clients, over 3 s' reruns one row (merged into the results file).
      if (args.variant && !name.includes(args.variant)) continue
      log(`ws-spread: ${name} ...`)
      let r
      try {
        r = await spreadRun(clients, spreadMs)
      } catch (err) {
        log(`  FAILED: ${err.stack || err}`)
        r = { variant: name, clients, spreadMs, spreadLabel: label(spreadMs), error: String(err.message || err) }
      }
      results.runs.push(r)
      log(table(spreadHeaders, [spreadRow(r)]))
    }
  }
  log('\nLong-lived close spread: reconnects reaching the second instance')
  log(table(spreadHeaders, results.runs.map(spreadRow)))
  return results
}
