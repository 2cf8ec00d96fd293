// Memory per idle connection: JS heap and RSS of a server holding 10,000 idle keep-alive sockets
// (each sent one request), with and without graceful tracking. gc() runs before every reading.
import { startNode, sleep } from '../lib/children.mjs'
import { table, median, round } from '../lib/table.mjs'

const POD = new URL('../lib/pod.mjs', import.meta.url)
const HOLDER = new URL('../lib/holder.mjs', import.meta.url)

export const PAIRS = [
  { name: 'node:http + graceful-core', bare: 'http-bare', graceful: 'http-graceful' },
  { name: 'fastify + fastify-graceful', bare: 'fastify-bare', graceful: 'fastify-graceful' },
  { name: 'express + express-graceful', bare: 'express-bare', graceful: 'express-graceful' }
]

async function measure (kind, sockets, fdLimit) {
  const opts = { graceful: { preStopDelayMs: 0 }, keepAliveTimeout: 120_000, maxLifeMs: 180_000 }
  const pod = startNode(POD, [kind, JSON.stringify(opts)], { nodeArgs: ['--expose-gc'], ulimit: fdLimit })
  const holders = []
  try {
    const { port } = await pod.next('listening', 20_000)
    // Warm the request path once so lazy initialisation is not counted as per-socket cost.
    for (let i = 0; i < 20; i++) await fetch(`http://127.0.0.1:${port}/fast`).then((r) => r.text())
    await sleep(200)
    pod.send('mem')
    const before = await pod.next('mem')
    for (let left = sockets; left > 0; left -= 5000) holders.push(startNode(HOLDER, [port, Math.min(5000, left), 64], { ulimit: fdLimit }))
    const held = (await Promise.all(holders.map((h) => h.next('held', 120_000)))).reduce((a, h) => a + h.held, 0)
    await sleep(500)
    pod.send('mem')
    const after = await pod.next('mem')
    if (!after.gc) throw new Error('gc() not exposed in the pod')
    return { kind, held, heapDelta: after.heapUsed - before.heapUsed, rssDelta: after.rss - before.rss, before, after }
  } finally {
    pod.kill('SIGKILL')
    for (const h of holders) h.kill('SIGKILL')
    await Promise.all([pod.exited, ...holders.map((h) => h.exited)])
  }
}

export async function runMemory (args, { log, fdLimit }) {
  const sockets = 10_000
  const rounds = args.rounds ?? (args.quick ? 1 : 2)
  const results = { config: { sockets, rounds }, pairs: [] }
  for (const pair of PAIRS) {
    const runs = { bare: [], graceful: [] }
    for (let i = 0; i < rounds; i++) {
      for (const side of i % 2 === 0 ? ['bare', 'graceful'] : ['graceful', 'bare']) {
        log(`memory: ${pair[side]} round ${i + 1} ...`)
        const m = await measure(pair[side], sockets, fdLimit)
        if (m.held !== sockets) log(`  only ${m.held} sockets held`)
        runs[side].push({ held: m.held, heapPerSocket: m.heapDelta / m.held, rssPerSocket: m.rssDelta / m.held, heapDelta: m.heapDelta, rssDelta: m.rssDelta })
      }
    }
    const med = (side, k) => median(runs[side].map((r) => r[k]))
    const row = {
      pair: pair.name,
      bareHeapPerSocket: round(med('bare', 'heapPerSocket')),
      gracefulHeapPerSocket: round(med('graceful', 'heapPerSocket')),
      trackingHeapPerSocket: round(med('graceful', 'heapPerSocket') - med('bare', 'heapPerSocket')),
      bareRssPerSocket: round(med('bare', 'rssPerSocket')),
      gracefulRssPerSocket: round(med('graceful', 'rssPerSocket')),
      trackingRssPerSocket: round(med('graceful', 'rssPerSocket') - med('bare', 'rssPerSocket')),
      runs
    }
    results.pairs.push(row)
  }
  log(`\nMemory with ${sockets} idle keep-alive sockets (bytes per socket, median of ${rounds}; after gc())`)
  log(table(['server', 'heap bare', 'heap graceful', 'heap added by tracking', 'RSS bare', 'RSS graceful', 'RSS added'],
    results.pairs.map((r) => [r.pair, r.bareHeapPerSocket, r.gracefulHeapPerSocket, r.trackingHeapPerSocket, r.bareRssPerSocket, r.gracefulRssPerSocket, r.trackingRssPerSocket])))
  return results
}

// The verdict of a --quick run (bench/lib/verdict.mjs) judges the JS heap that tracking adds per
// socket. Noise: the spread of the rounds, bare and graceful added up (the figure is their
// difference), at least 20 B: a --quick run has one round, so no spread of its own, and the bare
// server alone moved by up to 21 B per socket between the two rounds of one committed run (the
// figure itself moved by at most 16 B between the last three committed runs). The RSS figures are
// reported, not judged: tracking's RSS per socket ranged from −753 to +653 B over the committed runs.
const HEAP_NOISE_FLOOR = 20

export function metrics (results) {
  const spread = (runs) => Math.max(...runs.map((r) => r.heapPerSocket)) - Math.min(...runs.map((r) => r.heapPerSocket))
  return results.pairs.map((p) => ({
    name: `${p.pair}: heap B/socket added`,
    value: p.trackingHeapPerSocket,
    better: 'lower',
    noise: Math.max(HEAP_NOISE_FLOOR, spread(p.runs.bare) + spread(p.runs.graceful))
  }))
}
