// Hot-path overhead of every door: the same framework app with and without graceful
// (bench/lib/hot-path-server.mjs), one door at a time. Throughput: many short rounds that alternate
// bare and graceful, the order flipped every round; the ratio of each round pair gives the spread.
// Allocation: JS heap bytes per request over a fixed number of requests, which CPU noise cannot move;
// measured again on Node 22, 24 and 26 (what V8 allocates per request differs between versions).
// With two CPUs or more the servers run on CPU 1 and the load generator on CPU 0, so neither
// steals the other's time slices.
import { RUNTIMES } from '../../scripts/runtimes.mjs'
import { installOrSkip } from '../lib/install-runtime.mjs'
import { pinnable, startNode, sleep } from '../lib/children.mjs'
import { table, median, round } from '../lib/table.mjs'

const SERVER = new URL('../lib/hot-path-server.mjs', import.meta.url)
const LOAD = new URL('../lib/blast-cli.mjs', import.meta.url)

export const DOORS = ['fastify', 'express', 'koa', 'hono', 'nestjs-express', 'nestjs-fastify', 'node:http']
/** Doors that are a middleware: their allocation is also measured against one empty middleware. */
export const MIDDLEWARE_DOORS = new Set(['express', 'koa', 'hono'])

const spread = (xs) => ({ min: round(Math.min(...xs), 4), median: round(median(xs), 4), max: round(Math.max(...xs), 4) })

function configOf (args) {
  return {
    rounds: Math.max(args.rounds ?? (args.quick ? 5 : 9), 1),
    durationMs: args.quick ? 500 : 1000,
    warmupMs: args.quick ? 1000 : 2000,
    connections: 50,
    allocRounds: args.quick ? 1 : 3,
    allocRequests: 20_000,
    allocConnections: 10,
    // The other supported Nodes, bytes only (installed on demand; skipped with a line when they cannot be).
    bytesRuntimes: args.quick ? [] : ['node22', 'node24', 'node26'],
    path: '/fast',
    pinned: pinnable()
  }
}

/**
 * Runs `measure({ sides, servers, load, ask })` with one server per side of `door` listening (on
 * `runtime`, default this Node), and stops them afterwards, even when it fails.
 */
async function withServers (door, config, runtime, measure) {
  const cpu = (n) => (config.pinned ? n : undefined)
  const servers = {}
  const load = async (port, options) => {
    const child = startNode(LOAD, [JSON.stringify({ port, path: config.path, ...options })], { cpu: cpu(0) })
    return child.next('blast', 120_000)
  }
  const ask = async (side, command, answer) => {
    servers[side].send(command)
    return servers[side].next(answer, 10_000)
  }
  try {
    const sides = sidesOf(door)
    for (const side of sides) {
      servers[side] = startNode(SERVER, [door, side], { nodeArgs: ['--expose-gc'], cpu: cpu(1), runtime })
      servers[side].port = (await servers[side].next('listening', 30_000)).port
    }
    return await measure({ sides, servers, load, ask })
  } finally {
    for (const server of Object.values(servers)) server.kill('SIGKILL')
    await Promise.all(Object.values(servers).map((s) => s.exited))
    await sleep(200)
  }
}

function measureDoor (door, config, log) {
  return withServers(door, config, undefined, async ({ sides, servers, load, ask }) => {
    for (const side of ['bare', 'graceful']) await load(servers[side].port, { durationMs: config.warmupMs, connections: config.connections })
    const rps = { bare: [], graceful: [] }
    const cpuUsPerReq = { bare: [], graceful: [] }
    for (let i = 0; i < config.rounds; i++) {
      for (const side of i % 2 === 0 ? ['bare', 'graceful'] : ['graceful', 'bare']) {
        const c0 = await ask(side, 'cpu', 'cpu')
        const r = await load(servers[side].port, { durationMs: config.durationMs, connections: config.connections })
        const c1 = await ask(side, 'cpu', 'cpu')
        if (r.bad || r.errors) log(`  ${door} ${side}: ${r.bad} non-2xx, ${r.errors} socket errors`)
        rps[side].push(Math.round(r.rps))
        cpuUsPerReq[side].push(round((c1.user + c1.system - c0.user - c0.system) / r.ok, 2))
      }
    }
    return summarise(door, rps, cpuUsPerReq, await measureBytes(servers, sides, config, load, ask))
  })
}

/** The bytes alone, on another Node: what V8 allocates per request differs between its versions. */
function measureDoorBytesOn (runtime, door, config) {
  return withServers(door, config, runtime, async ({ sides, servers, load, ask }) => {
    for (const side of sides) await load(servers[side].port, { durationMs: config.warmupMs, connections: config.connections })
    return { door, ...summariseBytes(await measureBytes(servers, sides, config, load, ask)) }
  })
}

/** The middleware doors' bytes are also measured with one empty middleware and in the request-listener shape. */
const sidesOf = (door) => MIDDLEWARE_DOORS.has(door) ? ['bare', 'graceful', 'passthrough', 'listener'] : ['bare', 'graceful']

/** JS heap bytes per request of each side's server: a fixed number of requests after a short warm-up, rounds alternated. */
async function measureBytes (servers, sides, config, load, ask) {
  const bytesPerRequest = Object.fromEntries(sides.map((side) => [side, []]))
  for (let i = 0; i < config.allocRounds; i++) {
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
      await load(servers[side].port, { durationMs: config.warmupMs / 2, connections: config.connections })
      await ask(side, 'alloc-start', 'alloc-started')
      const r = await load(servers[side].port, { requests: config.allocRequests, durationMs: 120_000, connections: config.allocConnections })
      const { bytes } = await ask(side, 'alloc-stop', 'alloc')
      bytesPerRequest[side].push(Math.round(bytes / (r.ok + r.bad)))
    }
  }
  return bytesPerRequest
}

function summarise (door, rps, cpuUsPerReq, bytesPerRequest) {
  const ratios = rps.bare.map((bare, i) => rps.graceful[i] / bare)
  return {
    door,
    rps,
    ratios: ratios.map((r) => round(r, 4)),
    ratio: spread(ratios),
    ratioOfMedians: round(median(rps.graceful) / median(rps.bare), 4),
    cpuUsPerReq,
    cpuRatio: round(median(cpuUsPerReq.bare) / median(cpuUsPerReq.graceful), 4),
    ...summariseBytes(bytesPerRequest)
  }
}

function summariseBytes (bytesPerRequest) {
  const bytes = Object.fromEntries(Object.entries(bytesPerRequest).map(([side, runs]) => [side, median(runs)]))
  return {
    bytesPerRequest,
    bytesMedian: bytes,
    bytesAdded: Math.round(bytes.graceful - bytes.bare),
    bytesRatio: round(bytes.graceful / bytes.bare, 4),
    // The middleware doors: what graceful adds over any first middleware.
    ...(bytes.passthrough === undefined ? {} : { bytesAddedOverPassthrough: Math.round(bytes.graceful - bytes.passthrough) }),
    // Their request-listener shape (no middleware) against bare.
    ...(bytes.listener === undefined ? {} : { listenerBytesAdded: Math.round(bytes.listener - bytes.bare), listenerBytesRatio: round(bytes.listener / bytes.bare, 4) })
  }
}

export async function runOverhead (args, { log }) {
  const config = configOf(args)
  log(`overhead: ${config.rounds} alternated rounds of ${config.durationMs} ms per door; ${config.pinned ? 'servers on CPU 1, load on CPU 0' : 'not pinned (taskset or a second CPU missing)'}`)
  const results = { config, doors: [] }
  for (const door of DOORS) {
    const row = await measureDoor(door, config, log)
    results.doors.push(row)
    log(`overhead: ${door} req/s bare ${row.rps.bare.join(' ')} | graceful ${row.rps.graceful.join(' ')}; bytes/req ${row.bytesPerRequest.bare.join(' ')} | ${row.bytesPerRequest.graceful.join(' ')}`)
  }
  results.bytesOnRuntimes = []
  for (const runtime of config.bytesRuntimes) {
    const version = RUNTIMES[runtime].package.split('@').pop()
    const skipped = await installOrSkip(runtime, log, `overhead: bytes on ${runtime}`)
    if (skipped) {
      results.bytesOnRuntimes.push({ runtime, version, skipped })
      continue
    }
    const doors = []
    for (const door of DOORS) {
      const row = await measureDoorBytesOn(runtime, door, config)
      doors.push(row)
      log(`overhead: Node ${version} ${door} bytes/req ${Object.entries(row.bytesPerRequest).map(([side, xs]) => `${side} ${xs.join(' ')}`).join(' | ')}`)
    }
    results.bytesOnRuntimes.push({ runtime, version, doors })
  }
  const pct = (x) => `${(x * 100).toFixed(1)}%`
  log(`\nHot-path overhead (GET ${config.path}, ${config.connections} keep-alive connections, ${config.rounds} alternated rounds of ${config.durationMs / 1000} s; bytes over ${config.allocRequests} requests)`)
  log(table(['door', 'bare req/s', 'graceful req/s', 'ratio min', 'median', 'max', 'CPU ratio', 'bytes/req bare', 'graceful', 'added', 'over 1 middleware', 'listener shape added'],
    results.doors.map((d) => [d.door, median(d.rps.bare), median(d.rps.graceful), pct(d.ratio.min), pct(d.ratio.median), pct(d.ratio.max), pct(d.cpuRatio),
      d.bytesMedian.bare, d.bytesMedian.graceful, `${d.bytesAdded} (${pct(d.bytesRatio - 1)})`, d.bytesAddedOverPassthrough ?? '', d.listenerBytesAdded === undefined ? '' : `${d.listenerBytesAdded} (${pct(d.listenerBytesRatio - 1)})`])))
  return results
}

/**
 * What the quick verdict compares: per door the bytes allocated per request with graceful over bare
 * (noise: the spread of its rounds). Throughput ratios are not judged: on a shared machine their
 * rounds swing by tens of per cent; the instructions section judges the hot-path cost.
 */
export function metrics (results) {
  return (results.doors ?? []).map((d) => {
    const byteRatios = d.bytesPerRequest.graceful.flatMap((g) => d.bytesPerRequest.bare.map((b) => g / b))
    return { name: `${d.door}: bytes/req ratio`, value: d.bytesRatio, better: 'lower', noise: Math.max(0.005, Math.max(...byteRatios) - Math.min(...byteRatios)) }
  })
}
