// The figures the Findings of BENCHMARKS.md quote, each computed from bench/results/<section>.json
// (rendered by bench/report.mjs between the `bench:findings` markers): the prose around them says
// what they mean and carries no figure of its own, so a rerun can never leave it behind.

import { judgedLatency } from './latency.mjs'

const n = (x) => (typeof x === 'number' ? x.toLocaleString('en-US') : String(x))
const pct = (ratio, digits = 1) => `${(100 * ratio).toFixed(digits).replace(/^-(0\.0+)$/, '$1')} %`
const range = (xs) => {
  const lo = Math.min(...xs)
  const hi = Math.max(...xs)
  return lo === hi ? n(lo) : `${n(lo)}–${n(hi)}`
}
const failedOf = (r) => `${n(r.failed)} of ${n(r.requests)} failed`
const exitOf = (r) => `exit ${r.exitCode} after ${n(r.sigtermToExitMs)} ms`

function rolling (results) {
  const rows = results.main.filter((r) => !r.error)
  const lines = [`- **Rolling update** (${results.config.lagMs / 1000} s LB lag): ` +
    rows.map((r) => `${r.variant}: ${failedOf(r)}, ${exitOf(r)}`).join('; ') + '.']
  const timed = [...results.main, ...(results.tls ?? [])].filter((r) => !r.error && r.latency)
  if (timed.length) {
    lines.push('- **Latency, SIGTERM → exit against steady state** (fast requests that succeeded; p99 ratio, p50 steady → rollout): ' +
      timed.map((r) => ({ r, j: judgedLatency(r) })).map(({ r, j }) => `${r.variant}: ${j.p99Ratio === null ? '—' : j.p99Ratio.toFixed(2)}×, ${j.steady.p50} → ${j.rollout.p50} ms`).join('; ') + '.')
  }
  const pinned = (results.pinned ?? []).filter((r) => !r.error && r.pinned)
  if (pinned.length) {
    lines.push('- **Clients pinned to a pod by their connection** (failed over the rollouts; peak reconnects per 100 ms; p99 ratio): ' +
      pinned.map((r) => `${r.variant}: ${n(r.latency.pooled?.failed ?? r.failed)} failed, ${r.pinned.peakReconnectsPer100ms}, ${judgedLatency(r).p99Ratio?.toFixed(2) ?? '—'}×`).join('; ') + '.')
  }
  if (results.preStop?.length) {
    lines.push('- **Pre-stop window**: ' + results.preStop.filter((r) => !r.error)
      .map((r) => `${r.variant} behind a ${r.lagMs / 1000} s lag: ${failedOf(r)}, ${exitOf(r)} (pre-stop ended by ${r.preStop?.endedBy ?? '?'})`).join('; ') + '.')
  }
  if (results.slowStart?.length) {
    lines.push('- **Slow start**: ' + results.slowStart.filter((r) => !r.error).map((r) => `${r.variant}: ${failedOf(r)}`).join('; ') + '.')
  }
  return lines
}

const overhead = (results) => ['- **Hot-path overhead** (median of paired req/s ratios; bytes allocated per request added): ' +
  results.doors.map((d) => `${d.door} ${pct(d.ratio.median)}, ${signedBytes(d.bytesAdded, d.bytesRatio)}` +
    (d.listenerBytesAdded === undefined ? '' : ` (request-listener shape ${signedBytes(d.listenerBytesAdded, d.listenerBytesRatio)})`)).join('; ') + '.',
  ...bytesOnOtherNodes(results)]
const bytesOnOtherNodes = (results) => {
  const nodes = (results.bytesOnRuntimes ?? []).filter((x) => !x.skipped)
  if (nodes.length === 0) return []
  const share = (d) => `${pct(d.bytesRatio - 1)}${d.listenerBytesRatio === undefined ? '' : ` (${pct(d.listenerBytesRatio - 1)})`}`
  return [`- **Bytes added per request on Node ${nodes.map((x) => x.version).join(' / ')}** (request-listener shape in brackets): ` +
    results.doors.map(({ door }) => `${door} ${nodes.map((x) => share(x.doors.find((d) => d.door === door))).join(' / ')}`).join('; ') + '.']
}
const signedBytes = (added, ratio) => `${added >= 0 ? '+' : ''}${n(added)} B (${pct(ratio - 1)})`

const idle = (results) => ['- **Idle keep-alive sockets** (median exit time, graceful / the framework\'s own close()): ' +
  results.rows.map((r) => `${r.door} at ${n(r.sockets)} sockets ${n(r.graceful.medianMs)} / ${n(r.bare.medianMs)} ms`).join('; ') +
  `; graceful grows ${range(results.rows.map((r) => r.graceful.msPer1k))} ms per 1,000 sockets.`]

const memory = (results) => [`- **Memory**: ${range(results.pairs.map((p) => p.trackingHeapPerSocket))} B of JS heap per idle socket added by tracking (` +
  results.pairs.map((p) => `${p.pair} ${n(p.trackingHeapPerSocket)}`).join(', ') + `), ${n(results.config.sockets)} sockets.`]

const connectStorm = (results) => ['- **Connect storm**: connections reset, per ' +
  `${results.config.shutdowns} shutdowns: ` + results.variants.map((v) => `${v.variant} ${n(v.counts.reset)} (${n(v.counts.refused)} refused)`).join('; ') + '.']

function proxies (results) {
  const byProxy = new Map()
  for (const r of results.runs.filter((x) => !x.error)) byProxy.set(r.proxy, [...(byProxy.get(r.proxy) ?? []), r])
  return [...byProxy].map(([proxy, runs]) => `- **Behind ${proxy}**: ` +
    runs.map((r) => `${r.variant}: ${failedOf(r)}`).join('; ') + '.')
}

const websockets = (results) => [`- **WebSockets** (${n(results.config.clients)} clients): ` + results.runs.filter((r) => !r.error)
  .map((r) => `${r.variant}: ${n(r.failedAttempts)} failed reconnects, peak ${n(r.peakPer100Ms)} reconnects per 100 ms, all back after ${n(r.allBackMs)} ms, ${exitOf(r)}`).join('; ') + '.']

const singleHost = (results) => ['- **One host**: ' + results.runs.filter((r) => !r.error)
  .map((r) => `${r.scenario}, ${r.variant}: ${failedOf(r)} over ${r.restarts} restarts`).join('; ') + '.']

const SECTIONS = { rolling, overhead, idle, memory, 'connect-storm': connectStorm, proxies, websockets, 'single-host': singleHost }

/** The Findings' figures, one paragraph per section that has results. */
export function findingsBlock (load) {
  const lines = []
  for (const [section, render] of Object.entries(SECTIONS)) {
    const run = load(section)
    if (run) lines.push(...render(run.results))
  }
  return lines.length ? lines.join('\n') : '_no results yet_'
}
