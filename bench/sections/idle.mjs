// Shutdown with many idle keep-alive connections: each connection sent one request, got its
// response and stays open. Time from SIGTERM (no pre-stop delay) to process exit.
import { startNode, sleep, terminate } from '../lib/children.mjs'
import { exitLabel } from './rolling.mjs'
import { median, round, table } from '../lib/table.mjs'

const POD = new URL('../lib/pod.mjs', import.meta.url)
const HOLDER = new URL('../lib/holder.mjs', import.meta.url)
const PER_HOLDER = 5000
// File descriptors the server needs besides the sockets (stdio, listener, epoll, libuv, ...).
const RESERVED_FDS = 100

/** Each door's graceful pod against its framework's own close(), in the same run. */
export const DOORS = [
  { door: 'fastify', graceful: { name: 'fastify-graceful', kind: 'fastify-graceful' }, bare: { name: 'fastify app.close()', kind: 'fastify-close' } },
  { door: 'express', graceful: { name: 'express-graceful', kind: 'express-graceful' }, bare: { name: 'express server.close()', kind: 'express-close' } },
  { door: 'node:http', graceful: { name: 'node:http + graceful-core', kind: 'http-graceful' }, bare: { name: 'node:http server.close()', kind: 'http-bare' } }
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
  // 50,000 needs a descriptor limit above 50,100: where the machine's is lower, the largest count that fits is measured.
  const sizes = [...new Set((args.quick ? [10_000] : [5_000, 10_000, 50_000]).map((n) => Math.min(n, fdLimit - RESERVED_FDS)))]
  const rounds = args.rounds ?? (args.quick ? 1 : 3)
  const results = { config: { sizes, rounds, fdLimit, reservedFds: RESERVED_FDS }, runs: [], rows: [] }
  for (const { door, ...sides } of DOORS) {
    for (const size of sizes) {
      const exits = { graceful: [], bare: [] }
      for (let round = 0; round < rounds; round++) {
        for (const side of round % 2 === 0 ? ['graceful', 'bare'] : ['bare', 'graceful']) {
          const variant = sides[side]
          try {
            const r = await idleSocketsRun(variant, size, fdLimit)
            results.runs.push({ door, side, round, ...r })
            exits[side].push(r)
            log(`idle sockets: ${variant.name}, ${r.sockets} sockets (connect ${r.connectMs} ms): exit ${r.exitCode} after ${r.sigtermToExitMs} ms`)
          } catch (err) {
            log(`idle sockets: ${variant.name}, ${size}: FAILED: ${err.stack || err}`)
            results.runs.push({ door, side, round, variant: variant.name, requested: size, error: String(err.message || err) })
          }
        }
      }
      if (exits.graceful.length && exits.bare.length) results.rows.push(rowOf(door, sides, exits))
    }
  }
  log(`\nShutdown with idle keep-alive sockets (preStopDelayMs 0; SIGTERM → exit, median of ${rounds} alternated rounds; fd limit ${fdLimit})`)
  log(table(['door', 'sockets', 'graceful ms', 'bare close() ms', 'ratio', 'graceful ms per 1k', 'exit codes', 'client FIN / RST'],
    results.rows.map((r) => [r.door, r.sockets, `${r.graceful.medianMs} (${r.graceful.ms.join(' ')})`, `${r.bare.medianMs} (${r.bare.ms.join(' ')})`,
      r.ratio.toFixed(2), r.graceful.msPer1k, `${r.graceful.exitCodes.join(' ')} / ${r.bare.exitCodes.join(' ')}`, `${r.graceful.fin} / ${r.graceful.reset}`])))
  return results
}

function rowOf (door, sides, exits) {
  const side = (runs) => ({
    ms: runs.map((r) => r.sigtermToExitMs),
    medianMs: median(runs.map((r) => r.sigtermToExitMs)),
    msPer1k: round(median(runs.map((r) => r.sigtermToExitMs)) / (runs[0].sockets / 1000), 1),
    exitCodes: runs.map((r) => r.exitCode),
    fin: runs.reduce((a, r) => a + r.clientSaw.fin, 0),
    reset: runs.reduce((a, r) => a + r.clientSaw.reset, 0)
  })
  const graceful = side(exits.graceful)
  const bare = side(exits.bare)
  return { door, graceful: { variant: sides.graceful.name, ...graceful }, bare: { variant: sides.bare.name, ...bare }, sockets: exits.graceful[0].sockets, ratio: round(graceful.medianMs / bare.medianMs, 3) }
}

/**
 * What the quick verdict compares: per door and socket count, graceful's exit time over the bare
 * close()'s in the same run (noise: the spread of the single runs' ratios, at least 10 %: a single
 * exit of 10k sockets moves by about that much from run to run here).
 */
// The verdict compares 10k sockets only: the size both the full and the --quick run measure.
export function metrics (results) {
  return (results.rows ?? []).filter((r) => r.sockets === 10_000).map((r) => {
    const ratios = r.graceful.ms.flatMap((g) => r.bare.ms.map((b) => g / b))
    return { name: `${r.door} ${r.sockets} idle sockets: exit time ratio`, value: r.ratio, better: 'lower', noise: Math.max(0.1, (Math.max(...ratios) - Math.min(...ratios)) / 2) }
  })
}
