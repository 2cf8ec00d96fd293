// Shutdown with many idle keep-alive connections: each connection sent one request, got its
// response and stays open. Time from SIGTERM (no pre-stop delay) to process exit.
import { startNode, sleep, terminate } from '../lib/children.mjs'
import { exitLabel } from './rolling.mjs'
import { table } from '../lib/table.mjs'

const POD = new URL('../lib/pod.mjs', import.meta.url)
const HOLDER = new URL('../lib/holder.mjs', import.meta.url)
const PER_HOLDER = 5000
// File descriptors the server needs besides the sockets (stdio, listener, epoll, libuv, ...).
const RESERVED_FDS = 100

export const VARIANTS = [
  { name: 'fastify-graceful', kind: 'fastify-graceful', graceful: true },
  { name: 'express-graceful', kind: 'express-graceful', graceful: true },
  { name: 'fastify app.close()', kind: 'fastify-close', graceful: false },
  { name: 'express server.close()', kind: 'express-close', graceful: false }
]

export async function idleSocketsRun (variant, requested, fdLimit) {
  const count = Math.min(requested, fdLimit - RESERVED_FDS)
  const opts = { graceful: { preStopDelayMs: 0, gracePeriodMs: 10_000 }, keepAliveTimeout: 120_000, maxLifeMs: 180_000 }
  const pod = startNode(POD, [variant.kind, JSON.stringify(opts)], { ulimit: fdLimit })
  const holders = []
  try {
    const { port } = await pod.next('listening', 20_000)
    const t0 = performance.now()
    for (let left = count; left > 0; left -= PER_HOLDER) {
      holders.push(startNode(HOLDER, [port, Math.min(PER_HOLDER, left), 64], { ulimit: fdLimit }))
    }
    const held = await Promise.all(holders.map((h) => h.next('held', 120_000)))
    const heldTotal = held.reduce((a, h) => a + h.held, 0)
    const connectMs = Math.round(performance.now() - t0)
    await sleep(500)
    const tTerm = performance.now()
    const termWall = performance.timeOrigin + tTerm
    const exit = await terminate(pod, 30_000)
    await sleep(300)
    for (const h of holders) h.send('stats')
    const stats = await Promise.all(holders.map((h) => h.next('stats', 10_000)))
    const sum = (k) => stats.reduce((a, s) => a + s[k], 0)
    const report = pod.messages.find((m) => m.type === 'report')?.report ?? null
    return {
      variant: variant.name,
      requested,
      sockets: heldTotal,
      connectFailed: held.reduce((a, h) => a + h.failed, 0),
      connectMs,
      exitCode: exitLabel(exit),
      sigtermToExitMs: Math.round(exit.at - tTerm),
      lastSocketClosedMs: Math.round(Math.max(...stats.map((s) => s.lastCloseAt)) - termWall),
      clientSaw: { fin: sum('fin'), reset: sum('reset'), stillOpen: sum('open') },
      reportSockets: report?.sockets ?? null,
      reportPhases: report?.phases ?? null
    }
  } finally {
    pod.kill('SIGKILL')
    for (const h of holders) h.kill('SIGKILL')
    await Promise.all(holders.map((h) => h.exited))
  }
}

export async function runIdle (args, { log, fdLimit }) {
  const sizes = args.quick ? [1000, 10_000] : [1000, 10_000, 20_000]
  const results = { config: { sizes, fdLimit, reservedFds: RESERVED_FDS }, runs: [] }
  for (const variant of VARIANTS) {
    for (const size of variant.graceful ? sizes : [10_000]) {
      log(`idle sockets: ${variant.name}, ${size} ...`)
      try {
        const r = await idleSocketsRun(variant, size, fdLimit)
        results.runs.push(r)
        log(`  ${r.sockets} sockets (connect ${r.connectMs} ms), exit ${r.exitCode} after ${r.sigtermToExitMs} ms`)
      } catch (err) {
        log(`  FAILED: ${err.stack || err}`)
        results.runs.push({ variant: variant.name, requested: size, error: String(err.message || err) })
      }
    }
  }
  log(`\nShutdown with idle keep-alive sockets (preStopDelayMs 0; fd limit ${fdLimit})`)
  log(table(['variant', 'sockets', 'exit', 'SIGTERM→exit ms', 'last socket closed ms', 'client FIN / RST', 'report closedIdle / forced'],
    results.runs.map((r) => r.error
      ? [r.variant, r.requested, 'error', r.error.slice(0, 60)]
      : [r.variant, r.sockets, r.exitCode, r.sigtermToExitMs, r.lastSocketClosedMs, `${r.clientSaw.fin} / ${r.clientSaw.reset}`,
          r.reportSockets ? `${r.reportSockets.closedIdle} / ${r.reportSockets.forced}` : ''])))
  return results
}
