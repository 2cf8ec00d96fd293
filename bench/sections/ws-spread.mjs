// Long-lived close spread (longLived.spreadMs): WebSocket clients (bench/lib/ws-clients.mjs) on
// instance v1 (graceful-core + addWebSocketServer); v1 gets SIGTERM and closes its clients with
// 1012 all at once (spreadMs 0), over 1 s (the default), 3 s or 5 s. Every closed client reconnects
// after a fixed 100 ms straight to instance v2 (no LB: the storm reaches v2 as the clients make it).
// Measured on v2: the reconnects it accepts per 100 ms (the peak) and its p99 event-loop delay; on
// the clients: the span from the first close to the last, and failed reconnects; on v1: its exit
// code and SIGTERM → exit, and when it sent each close. Where bursts come from: each process's
// event-loop stalls with the CPU time used in them (bench/lib/loop-stalls.mjs), and the machine's
// CPU time. 1,000 and 5,000 clients (`--quick`: 300, and only 0 and 3 s; `--variant TEXT`: the rows
// whose name contains TEXT). The clients are split over several processes (`--client-processes N`;
// by default one per 1,250 clients): one process holding 5,000 sockets receives the closes in
// bursts as large as its event loop's turns, and its reconnects then leave in bursts too (a full run
// keeps one such row for comparison). Each client holds one socket in a clients process and one in
// v1 or v2: 5,000 clients fit the 20,000 open files and the ephemeral ports.
import os from 'node:os'
import { sleep, startNode, terminate } from '../lib/children.mjs'
import { table } from '../lib/table.mjs'
import { exitLabel } from './rolling.mjs'
import { per100Ms } from './websockets.mjs'

const POD = new URL('../lib/pod.mjs', import.meta.url)
const CLIENTS = new URL('../lib/ws-clients.mjs', import.meta.url)
const RECONNECT_DELAY_MS = 100
const KILL_AFTER_MS = 30_000
/** Clients per process by default: 1,000 stay in one process (as measured before), 5,000 go to 4. */
const CLIENTS_PER_PROCESS = 1250
/** No load balancer to wait for: the drain (and the spread) begins at SIGTERM; a 5 s spread fits half of the 15 s drain whole. */
const graceful = (spreadMs) => ({ preStopDelayMs: 0, gracePeriodMs: 15_000, longLived: { spreadMs, closeCode: 1012 } })
/**
 * `count` clients in `processes` ws-clients.mjs processes (the count split evenly), driven as one:
 * each command goes to all of them and their answers are merged (their times are absolute, so they merge).
 */
function startClients (port, count, reconnectPort, processes) {
  const sizes = Array.from({ length: Math.min(processes, count) }, (_, i) => Math.floor(count / processes) + (i < count % processes ? 1 : 0))
  const children = sizes.map((n) => startNode(CLIENTS, [port, n, RECONNECT_DELAY_MS, reconnectPort]))
  const ask = (cmd, ms) => {
    for (const c of children) c.send(cmd)
    return Promise.all(children.map((c) => c.next(cmd, ms)))
  }
  const sum = (answers, key) => answers.reduce((n, a) => n + a[key], 0)
  return {
    processes: children.length,
    connected: (ms) => Promise.all(children.map((c) => c.next('connected', ms))),
    reset: () => { for (const c of children) c.send('reset') },
    async progress () {
      const answers = await ask('progress', 5000)
      return { open: sum(answers, 'open'), closes: sum(answers, 'closes'), at: Math.max(...answers.map((a) => a.at)) }
    },
    async stats () {
      const answers = await ask('stats', 20_000)
      const closeCodes = {}
      for (const a of answers) for (const [code, n] of Object.entries(a.closeCodes)) closeCodes[code] = (closeCodes[code] ?? 0) + n
      return {
        open: sum(answers, 'open'),
        closeCodes,
        closedAt: answers.flatMap((a) => a.closedAt),
        attempts: answers.flatMap((a) => a.attempts),
        // The busiest process's loop (the one whose bursts show), and the CPU time of them all.
        loopDelayP99Ms: Math.max(...answers.map((a) => a.loopDelayP99Ms)),
        loopDelayMaxMs: Math.max(...answers.map((a) => a.loopDelayMaxMs)),
        cpuMs: sum(answers, 'cpuMs'),
        wallMs: Math.max(...answers.map((a) => a.wallMs)),
        stalls: stallsOf(answers.map((a) => a.stalls))
      }
    },
    /** Every process stopped, even when one of them failed. */
    async stop () {
      for (const c of children) c.send('stop')
      await Promise.all(children.map((c) => c.stop(3000)))
    }
  }
}

async function progress (clients, check, ms, what) {
  const end = performance.now() + ms
  while (performance.now() < end) {
    const p = await clients.progress()
    if (check(p)) return p
    await sleep(100)
  }
  throw new Error(`timeout (${ms} ms): ${what}`)
}

const peakOf = (buckets) => Math.max(0, ...Object.values(buckets))
/** Stalls of one or more processes: how many, their total length, and the CPU time used in them. */
const stallsOf = (summaries) => ({
  count: summaries.reduce((n, s) => n + s.count, 0),
  ms: summaries.reduce((n, s) => n + s.ms, 0),
  cpuMs: summaries.reduce((n, s) => n + s.cpuMs, 0),
  longestMs: Math.max(0, ...summaries.flatMap((s) => s.stalls.map((x) => x.ms)))
})
/** CPU time (ms, all CPUs) the machine spent on anything but idle between two os.cpus() readings. */
const nonIdleMs = (cpus) => cpus.reduce((n, cpu) => n + Object.entries(cpu.times).reduce((m, [k, v]) => m + (k === 'idle' ? 0 : v), 0), 0)
const busyMs = (before, after) => Math.round(nonIdleMs(after) - nonIdleMs(before))
const round1 = (x) => Math.round(x * 10) / 10
const spanOf = (times) => (times.length ? Math.round(Math.max(...times) - Math.min(...times)) : null)

/** One row: `clientCount` clients on v1, SIGTERM with this spread, every client back on v2 (or 30 s). */
async function spreadRun ({ name, clients: clientCount, spreadMs, processes, comparison }) {
  const opts = JSON.stringify({ graceful: graceful(spreadMs), maxLifeMs: 180_000 })
  const v1 = startNode(POD, ['ws-graceful', opts])
  const v2 = startNode(POD, ['ws-graceful', opts])
  let clients = null
  try {
    const [p1, p2] = await Promise.all([v1.next('listening', 20_000), v2.next('listening', 20_000)])
    clients = startClients(p1.port, clientCount, p2.port, processes)
    await clients.connected(120_000)
    await progress(clients, (p) => p.open === clientCount, 20_000, 'every client open')
    await sleep(500)
    v1.send('ws-reset')
    v2.send('ws-reset')
    clients.reset()
    const cpusBefore = os.cpus()
    const tTerm = performance.now()
    const t0 = performance.timeOrigin + tTerm
    const exit = await terminate(v1, KILL_AFTER_MS)
    let backAt = null
    try {
      backAt = (await progress(clients, (p) => p.open === clientCount && p.closes >= clientCount, 30_000, 'every client back')).at
    } catch {}
    await sleep(500)
    const stats = await clients.stats()
    v2.send('ws-stats')
    const onV2 = await v2.next('ws-stats', 20_000)
    const machineBusyMs = busyMs(cpusBefore, os.cpus())
    const report = v1.messages.find((m) => m.type === 'report')?.report ?? null
    const onV1 = v1.messages.find((m) => m.type === 'ws-closes') ?? { sentAt: [], closedAt: [], loopDelayP99Ms: NaN, loopDelayMaxMs: NaN, cpuMs: NaN, wallMs: NaN, stalls: { count: 0, ms: 0, cpuMs: 0, stalls: [] } }
    const v1Sends = per100Ms(onV1.sentAt, t0)
    const failures = {}
    for (const a of stats.attempts) if (!a.ok) failures[a.reason ?? 'unknown'] = (failures[a.reason ?? 'unknown'] ?? 0) + 1
    const v2Buckets = per100Ms(onV2.connectedAt, t0)
    const closes = stats.closedAt.map((at) => at - t0)
    const closeBuckets = per100Ms(stats.closedAt, t0)
    return {
      variant: name,
      clients: clientCount,
      comparison,
      spreadMs,
      spreadLabel: label(spreadMs),
      exitCode: exitLabel(exit),
      sigtermToExitMs: Math.round(exit.at - tTerm),
      gracePeriodMs: graceful(spreadMs).gracePeriodMs,
      closeCodes: stats.closeCodes,
      clientProcesses: clients.processes,
      firstCloseMs: closes.length ? Math.round(Math.min(...closes)) : null,
      closeSpanMs: spanOf(closes),
      closesPeakPer100Ms: peakOf(closeBuckets),
      closesPerHundredMs: closeBuckets,
      // The clients' loops (from just before SIGTERM): a loop that turns late receives closes in bursts.
      clientLoop: { loopDelayP99Ms: round1(stats.loopDelayP99Ms), loopDelayMaxMs: round1(stats.loopDelayMaxMs), cpuMs: Math.round(stats.cpuMs), wallMs: Math.round(stats.wallMs), stalls: stats.stalls },
      // v1's side: when its closes left (the spread's timers) and when their handshakes ended there.
      firstInstance: {
        sent: onV1.sentAt.length,
        sendSpanMs: spanOf(onV1.sentAt),
        sendsPeakPer100Ms: peakOf(v1Sends),
        handshakesPeakPer100Ms: peakOf(per100Ms(onV1.closedAt, t0)),
        loopDelayP99Ms: round1(onV1.loopDelayP99Ms),
        loopDelayMaxMs: round1(onV1.loopDelayMaxMs),
        // CPU time against wall time from just before SIGTERM to exit: a late loop with little CPU used waited for a CPU.
        cpuMs: Math.round(onV1.cpuMs),
        wallMs: Math.round(onV1.wallMs),
        stalls: stallsOf([onV1.stalls]),
        handshakesPerHundredMs: per100Ms(onV1.closedAt, t0),
        sendsPerHundredMs: v1Sends
      },
      reconnectAttempts: stats.attempts.length,
      // When the reconnects left the clients (v2's accepts are these, as late as v2's loop turns).
      attemptsPeakPer100Ms: peakOf(per100Ms(stats.attempts.map((a) => a.at), t0)),
      failedAttempts: stats.attempts.filter((a) => !a.ok).length,
      failures,
      allBackMs: backAt === null ? null : Math.round(backAt - t0),
      openAtEnd: stats.open,
      secondInstance: {
        accepted: onV2.connectedAt.length,
        peakPer100Ms: peakOf(v2Buckets),
        loopDelayP99Ms: round1(onV2.loopDelayP99Ms),
        loopDelayMaxMs: round1(onV2.loopDelayMaxMs),
        cpuMs: Math.round(onV2.cpuMs),
        wallMs: Math.round(onV2.wallMs),
        stalls: stallsOf([onV2.stalls]),
        perHundredMs: v2Buckets
      },
      // The CPU time of the whole machine over the same time, all CPUs: what v1, v2 and the clients
      // did not use of it went to other work (the machine is shared), and the bench's processes waited.
      machine: { busyMs: machineBusyMs, ofMs: Math.round((performance.now() - tTerm) * cpusBefore.length) },
      longLived: report?.longLived ?? null,
      reportExitCode: report?.exitCode ?? null
    }
  } finally {
    if (clients) await clients.stop()
    v1.kill('SIGKILL')
    await v2.stop(3000)
  }
}

export const SPREADS_MS = [0, 1000, 3000, 5000]
export const CLIENT_COUNTS = [1000, 5000]

export const spreadHeaders = ['clients', 'client processes', 'spread', 'v1 exit', 'SIGTERM→exit ms', 'v1 sends peak per 100 ms', 'v1 p99 loop delay ms', 'close span ms', 'closes peak per 100 ms',
  'v2 peak per 100 ms', 'v2 p99 loop delay ms', 'failed reconnects', 'all back after ms', 'load avg 1 min']
/** One row of the table; `bold` marks the figure the section is about (BENCHMARKS.md). Rows measured before v1 was observed show '—' there. */
export const spreadRow = (r, bold = (x) => x) => r.error
  ? [r.clients, r.clientProcesses ?? 1, r.spreadLabel, 'error: ' + r.error.split('\n')[0].slice(0, 80)]
  : [r.clients, r.clientProcesses ?? 1, r.spreadLabel, r.exitCode, r.sigtermToExitMs, r.firstInstance?.sendsPeakPer100Ms ?? '—', r.firstInstance?.loopDelayP99Ms ?? '—',
      r.closeSpanMs, r.closesPeakPer100Ms, bold(r.secondInstance.peakPer100Ms), r.secondInstance.loopDelayP99Ms, r.failedAttempts, r.allBackMs ?? 'not all',
      r.loadavg1m ? `${r.loadavg1m.before.toFixed(1)} → ${r.loadavg1m.after.toFixed(1)}` : '—']

const n = (x) => Math.round(x).toLocaleString('en')
const pct = (part, of) => `${Math.round((100 * part) / of)} %`
/**
 * Where a row's time went, one sentence from its figures: when v1 sent its closes against the even
 * rate, and how long each process's loop stalled (and how much of that on a CPU), against how busy
 * the machine was. Rows measured before v1 was observed give none.
 */
export function spreadEvidence (r) {
  const v1 = r.firstInstance
  if (r.error || !v1?.stalls || !r.clientLoop?.stalls || !r.secondInstance.stalls || !r.machine) return null
  const even = r.spreadMs ? ` (even: ${n((r.clients * 100) / r.spreadMs)})` : ''
  const stalled = (s) => (s.count ? `stalled ${n(s.ms)} ms (${n(s.cpuMs)} ms of it on a CPU, the longest ${n(s.longestMs)} ms)` : 'did not stall')
  const ours = v1.cpuMs + r.clientLoop.cpuMs + r.secondInstance.cpuMs
  const processes = r.comparison ? '' : `, ${r.clientProcesses} client process${r.clientProcesses === 1 ? '' : 'es'}`
  return `${r.variant}${processes}: v1 sent ${n(v1.sent)} closes over ${n(v1.sendSpanMs)} ms, ` +
    `at most ${n(v1.sendsPeakPer100Ms)} per 100 ms${even}; its loop ${stalled(v1.stalls)}; the clients' loops${r.clientProcesses > 1 ? ' (summed)' : ''} ${stalled(r.clientLoop.stalls)}, ` +
    `their reconnects left at most ${n(r.attemptsPeakPer100Ms)} per 100 ms; v2's loop ${stalled(r.secondInstance.stalls)}; ` +
    `the machine was busy ${pct(r.machine.busyMs, r.machine.ofMs)} of its CPU time, v1, v2 and the clients used ${pct(ours, r.machine.ofMs)}` +
    (r.failedAttempts ? `; failed reconnects: ${Object.entries(r.failures).map(([why, k]) => `${n(k)} × ${why}`).join(', ')}.` : '.')
}

const label = (spreadMs) => (spreadMs === 0 ? 'all at once' : `over ${spreadMs / 1000} s`)

/**
 * The rows: every client count with every spread, the clients split as `--client-processes` or the
 * default says; in a full run also 5,000 clients over 3 s in one clients process, the setup measured
 * before, for comparison (a row of its own, left out of the chart).
 */
function rowsOf (args) {
  const counts = args.quick ? [300] : CLIENT_COUNTS
  const spreads = args.quick ? [0, 3000] : SPREADS_MS
  const rows = counts.flatMap((clients) => spreads.map((spreadMs) => ({
    name: `${clients} clients, ${label(spreadMs)}`, clients, spreadMs, processes: args.clientProcesses ?? Math.ceil(clients / CLIENTS_PER_PROCESS), comparison: false
  })))
  if (!args.quick && !args.clientProcesses) rows.push({ name: '5000 clients, over 3 s, 1 client process', clients: 5000, spreadMs: 3000, processes: 1, comparison: true })
  // --variant '5000 clients, over 3 s' reruns the rows whose name contains it (merged into the results file).
  return { counts, spreads, rows: rows.filter((row) => !args.variant || row.name.includes(args.variant)) }
}

export async function runWsSpread (args, { log }) {
  const { counts, spreads, rows } = rowsOf(args)
  const results = { config: { clients: counts, spreadsMs: spreads, reconnectDelayMs: RECONNECT_DELAY_MS, clientsPerProcess: args.clientProcesses ? null : CLIENTS_PER_PROCESS, graceful: graceful('spreadMs') }, runs: [] }
  for (const row of rows) {
    log(`ws-spread: ${row.name} ...`)
    let r
    // Per row: the rows of one results file are often measured at different times (--variant).
    const loadBefore = os.loadavg()[0]
    try {
      r = await spreadRun(row)
      r.loadavg1m = { before: loadBefore, after: os.loadavg()[0] }
    } catch (err) {
      log(`  FAILED: ${err.stack || err}`)
      r = { variant: row.name, clients: row.clients, clientProcesses: row.processes, comparison: row.comparison, spreadMs: row.spreadMs, spreadLabel: label(row.spreadMs), error: String(err.message || err) }
    }
    results.runs.push(r)
    log(table(spreadHeaders, [spreadRow(r)]))
  }
  log('\nLong-lived close spread: reconnects reaching the second instance')
  log(table(spreadHeaders, results.runs.map((r) => spreadRow(r))))
  return results
}
