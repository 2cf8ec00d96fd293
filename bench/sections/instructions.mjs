// Instructions per request of every door, bare and with graceful (and, for the middleware doors,
// with one empty middleware: what any first middleware costs, and with the door's request-listener
// shape: the probes answered before the app; for hono also a fetch-level wrapper, the shape graceful
// does not ship, for comparison), counted by valgrind's callgrind
// (bench/lib/callgrind.mjs). An instruction count does not move with the load of a shared machine,
// where throughput ratios swing by tens of per cent from round to round; what spread is left is the
// server's own (the point where V8 compiled a function, a garbage collection) and each variant's
// runs show it.
import { callgrindMissing, measureInstructions, NODE_FLAGS } from '../lib/callgrind.mjs'
import { median, round, table } from '../lib/table.mjs'
import { DOORS, MIDDLEWARE_DOORS } from './overhead.mjs'

function configOf (args) {
  return {
    runs: Math.max(args.rounds ?? (args.quick ? 1 : 5), 1),
    // Warm-up GETs before the counted window, per door: the window must start once TurboFan has
    // compiled what the door's hot path needs. express goes on compiling until ~10,000 requests
    // (after 5,000 its runs were bimodal, 2.5-2.9 % apart; after 20,000 they agree within 0.3 %).
    // The others settle by 5,000, and a longer warm-up does not help them: after 20,000,
    // nestjs-express's runs were 3.5 % apart (node's _unrefTimer is deoptimized after that many
    // requests, and compilation falls into the window again).
    warmup: { express: 20_000, default: 5000 },
    requests: 3000,
    connections: 4,
    path: '/fast',
    nodeFlags: NODE_FLAGS
  }
}

/** The variants of a door: bare and graceful; the middleware doors add one empty middleware and the request-listener shape. */
function sidesOf (door) {
  if (!MIDDLEWARE_DOORS.has(door)) return ['bare', 'graceful']
  return ['bare', 'graceful', 'passthrough', 'listener', ...(door === 'hono' ? ['fetch-wrapper'] : [])]
}

/**
 * Runs the variants of one door `runs` times each, in rotation, four servers at a time: callgrind
 * counts each process's own instructions, so they do not disturb one another's figures, only the
 * time the section takes.
 */
async function measureDoor (door, config, log) {
  const sides = sidesOf(door)
  const jobs = []
  for (let i = 0; i < config.runs; i++) for (const side of sides) jobs.push(side)
  const perRequest = Object.fromEntries(sides.map((side) => [side, []]))
  const gcPerRequest = Object.fromEntries(sides.map((side) => [side, []]))
  const compilePerRequest = Object.fromEntries(sides.map((side) => [side, []]))
  const worker = async () => {
    for (let side = jobs.shift(); side !== undefined; side = jobs.shift()) {
      const r = await measureInstructions({ door, side, warmup: config.warmup[door] ?? config.warmup.default, requests: config.requests, connections: config.connections, path: config.path })
      perRequest[side].push(Math.round(r.perRequest))
      gcPerRequest[side].push(Math.round(r.gc / config.requests))
      compilePerRequest[side].push(Math.round(r.compile / config.requests))
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()])
  const spread = (xs) => round((Math.max(...xs) - Math.min(...xs)) / median(xs), 4)
  const medians = Object.fromEntries(sides.map((side) => [side, median(perRequest[side])]))
  return {
    door,
    variant: door,
    perRequest,
    gcPerRequest,
    compilePerRequest,
    median: medians,
    spread: Object.fromEntries(sides.map((side) => [side, spread(perRequest[side])])),
    ratio: round(medians.graceful / medians.bare, 4),
    ...(medians.passthrough === undefined ? {} : { ratioOverPassthrough: round(medians.graceful / medians.passthrough, 4) }),
    ...(medians.listener === undefined ? {} : { listenerRatio: round(medians.listener / medians.bare, 4) }),
    ...(medians['fetch-wrapper'] === undefined ? {} : { fetchWrapperRatio: round(medians['fetch-wrapper'] / medians.bare, 4) })
  }
}

export async function runInstructions (args, { log }) {
  const missing = callgrindMissing()
  if (missing) {
    log(`instructions: skipped, ${missing}`)
    return { skipped: missing }
  }
  const config = configOf(args)
  log(`instructions: callgrind, node ${config.nodeFlags.join(' ')}; ${Object.entries(config.warmup).map(([door, n]) => `${n} (${door})`).join(', ')} warm-up GETs, then ${config.requests} GETs counted over ${config.connections} keep-alive connections; ${config.runs} run(s) per variant`)
  const results = { config, doors: [] }
  for (const door of DOORS.filter((d) => !args.variant || args.variant.split(',').includes(d))) {
    const row = await measureDoor(door, config, log)
    results.doors.push(row)
    log(`instructions: ${door} ${Object.entries(row.perRequest).map(([side, xs]) => `${side} ${xs.join(' ')}`).join(' | ')}`)
  }
  const pct = (x) => (x === undefined || x === null ? '' : `${(x * 100).toFixed(1)}%`)
  log(`\nInstructions per request (GC and compilation left out; median of ${config.runs}, spread = (max − min) / median)`)
  log(table(['door', 'bare', 'spread', 'graceful', 'spread', 'graceful / bare', '1 middleware', 'graceful / middleware', 'graceful-listener', 'spread', 'graceful-listener / bare', 'fetch wrapper / bare'],
    results.doors.map((d) => [d.door, d.median.bare, pct(d.spread.bare), d.median.graceful, pct(d.spread.graceful), round(d.ratio, 3),
      d.median.passthrough ?? '', d.ratioOverPassthrough === undefined ? '' : round(d.ratioOverPassthrough, 3),
      d.median.listener ?? '', pct(d.spread.listener), d.listenerRatio === undefined ? '' : round(d.listenerRatio, 3),
      d.fetchWrapperRatio === undefined ? '' : round(d.fetchWrapperRatio, 3)])))
  return results
}

/**
 * What the quick verdict compares: per door, graceful's instructions per request over bare's. The
 * noise is 1 %, or the two variants' spreads added when that is wider (a quick run has one run per
 * variant, so no spread of its own).
 */
export function metrics (results) {
  return (results.doors ?? []).flatMap((d) => [
    {
      name: `${d.door}: instructions/req graceful ÷ bare`,
      value: d.ratio,
      better: 'lower',
      noise: Math.max(0.01, (d.spread.bare ?? 0) + (d.spread.graceful ?? 0))
    },
    ...(d.listenerRatio === undefined ? [] : [{
      name: `${d.door}: instructions/req graceful-listener ÷ bare`,
      value: d.listenerRatio,
      better: 'lower',
      noise: Math.max(0.01, (d.spread.bare ?? 0) + (d.spread.listener ?? 0))
    }])
  ])
}
