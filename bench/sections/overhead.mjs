// Hot-path overhead: requests/s of bare fastify vs fastify + fastify-graceful, bare express vs
// express + express-graceful. All four servers run at once (each in its own process, idle while
// the others are measured); runs alternate bare/graceful and the order flips every round.
import { startNode, sleep } from '../lib/children.mjs'
import { blast } from '../lib/blast.mjs'
import { table, median, round } from '../lib/table.mjs'

const POD = new URL('../lib/pod.mjs', import.meta.url)

export const PAIRS = [
  { name: 'fastify', bare: 'fastify-bare', graceful: 'fastify-graceful' },
  { name: 'express', bare: 'express-bare', graceful: 'express-graceful' }
]

export async function runOverhead (args, { log }) {
  const rounds = args.rounds ?? (args.quick ? 5 : 11)
  const durationMs = args.quick ? 1500 : 2000
  const warmupMs = args.quick ? 500 : 1000
  const connections = 50
  const pods = {}
  const results = { config: { rounds, durationMs, warmupMs, connections, path: '/fast' }, pairs: [] }
  try {
    for (const pair of PAIRS) {
      for (const kind of [pair.bare, pair.graceful]) {
        // Pre-stop options do not matter here: no shutdown happens while measuring.
        pods[kind] = startNode(POD, [kind, JSON.stringify({ graceful: { preStopDelayMs: 1000 }, maxLifeMs: 600_000 })])
        pods[kind].port = (await pods[kind].next('listening', 20_000)).port
      }
    }
    for (const pair of PAIRS) {
      const runs = { bare: [], graceful: [] }
      const cpu = { bare: [], graceful: [] }
      for (const side of ['bare', 'graceful']) await blast({ port: pods[pair[side]].port, durationMs: warmupMs, connections })
      for (let i = 0; i < rounds; i++) {
        const order = i % 2 === 0 ? ['bare', 'graceful'] : ['graceful', 'bare']
        for (const side of order) {
          const pod = pods[pair[side]]
          pod.send('cpu')
          const c0 = await pod.next('cpu')
          const r = await blast({ port: pod.port, durationMs, connections })
          pod.send('cpu')
          const c1 = await pod.next('cpu')
          if (r.bad || r.errors) log(`  ${pair[side]}: ${r.bad} non-2xx, ${r.errors} socket errors`)
          runs[side].push(Math.round(r.rps))
          // Server CPU time per request: unlike req/s, barely moved by other work on the machine.
          cpu[side].push(round((c1.user + c1.system - c0.user - c0.system) / r.ok, 2))
          await sleep(200)
        }
      }
      const bare = median(runs.bare)
      const graceful = median(runs.graceful)
      const pairRatios = runs.bare.map((b, i) => runs.graceful[i] / b)
      const row = {
        framework: pair.name,
        bareRps: Math.round(bare),
        gracefulRps: Math.round(graceful),
        ratio: round(graceful / bare, 4),
        medianPairRatio: round(median(pairRatios), 4),
        bareCpuUsPerReq: median(cpu.bare),
        gracefulCpuUsPerReq: median(cpu.graceful),
        cpuRatio: round(median(cpu.bare) / median(cpu.graceful), 4),
        runs,
        cpuUsPerReq: cpu
      }
      results.pairs.push(row)
      log(`overhead: ${pair.name} req/s bare ${runs.bare.join(' ')} | graceful ${runs.graceful.join(' ')}`)
      log(`overhead: ${pair.name} server CPU µs/req bare ${cpu.bare.join(' ')} | graceful ${cpu.graceful.join(' ')}`)
    }
  } finally {
    for (const p of Object.values(pods)) p.kill('SIGKILL')
  }
  log(`\nHot-path overhead (GET /fast, ${connections} keep-alive connections, median of ${rounds} alternated ${durationMs / 1000} s runs)`)
  log(table(['framework', 'bare req/s', 'with graceful req/s', 'ratio', 'median of paired ratios', 'server CPU µs/req bare', 'with graceful', 'CPU ratio'],
    results.pairs.map((r) => [r.framework, r.bareRps, r.gracefulRps, `${(r.ratio * 100).toFixed(1)}%`, `${(r.medianPairRatio * 100).toFixed(1)}%`,
      r.bareCpuUsPerReq, r.gracefulCpuUsPerReq, `${(r.cpuRatio * 100).toFixed(1)}%`])))
  return results
}
