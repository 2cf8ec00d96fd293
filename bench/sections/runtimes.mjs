// Runtimes: the same pods (fastify-graceful, express-graceful) on Node 20 (this process's), 22, 24,
// 26, Bun and Deno: a rolling update behind the LB with 2 s lag, and the connect storm (a new
// connection per request through each shutdown). Each runtime is installed on demand
// (scripts/runtimes.mjs); one that cannot be installed is skipped with its reason.
import { RUNTIME_NAMES } from '../../scripts/runtimes.mjs'
import { installOrSkip } from '../lib/install-runtime.mjs'
import { OUTCOMES, OUTCOME_LABEL, stormConfig, stormShutdown } from './connect-storm.mjs'
import { rollingConfig, rollingRun } from './rolling.mjs'
import { KINDS, KIND_LABEL } from '../lib/load.mjs'
import { table } from '../lib/table.mjs'

/** `node20`: the Node running the bench. */
export const BENCH_RUNTIMES = ['node20', ...RUNTIME_NAMES]
const DOORS = ['fastify-graceful', 'express-graceful']
const LAG_MS = 2000
// The LB takes a pod out up to three probe periods (3 × 200 ms) + the 2 s lag after readiness fails.
const GRACEFUL = { preStopDelayMs: 3000, gracePeriodMs: 10_000 }

export async function runRuntimes (args, { log }) {
  // SIGTERM 500 ms after the new pod joined, as these rows were measured (no latency window here).
  const rolling = { ...rollingConfig({ ...args, lag: LAG_MS, duration: args.duration ?? (args.quick ? 6000 : 10_000), requests: args.requests ?? (args.quick ? 0 : 8000) }), steadyMs: 0, controlMs: 0, surgeMs: 500 }
  const storm = stormConfig({ ...args, shutdowns: args.shutdowns ?? 3 })
  const wanted = args.variant ? BENCH_RUNTIMES.filter((r) => r.includes(args.variant)) : BENCH_RUNTIMES
  const runs = []
  for (const runtime of wanted) {
    const on = runtime === 'node20' ? undefined : runtime
    const skipped = on && await installOrSkip(on, log, `runtimes: ${runtime}`)
    if (skipped) {
      runs.push({ runtime, skipped })
      continue
    }
    for (const kind of DOORS) {
      const run = { runtime, variant: kind }
      try {
        log(`runtimes: ${runtime} ${kind}: rolling update, LB lag ${LAG_MS} ms ...`)
        const r = await rollingRun({ name: `${kind} on ${runtime}`, kind, runtime: on, opts: { graceful: GRACEFUL }, lagMs: LAG_MS }, rolling)
        run.rolling = { requests: r.requests, failed: r.failed, ...Object.fromEntries(KINDS.map((k) => [k, r[k]])), exitCode: r.exitCode, sigtermToExitMs: r.sigtermToExitMs, failures: r.failures.slice(0, 8) }
        run.storm = { shutdowns: [], counts: Object.fromEntries(OUTCOMES.map((k) => [k, 0])) }
        for (let i = 0; i < storm.shutdowns; i++) {
          const s = await stormShutdown({ kind }, storm, on)
          run.storm.shutdowns.push({ counts: s.counts, exitCode: s.exitCode, otherCodes: s.otherCodes })
          for (const k of OUTCOMES) run.storm.counts[k] += s.counts[k]
        }
        log(`  rolling: ${KINDS.map((k) => `${KIND_LABEL[k]} ${r[k]}`).join(', ')}, exit ${r.exitCode}; storm ECONNRESET per shutdown ${run.storm.shutdowns.map((s) => s.counts.reset).join(' ')}, refused ${run.storm.counts.refused}`)
      } catch (err) {
        run.error = String(err.message || err)
        log(`  ${runtime} ${kind} FAILED: ${err.stack || err}`)
      }
      runs.push(run)
    }
  }
  log(`\nRuntimes (rolling update, LB lag ${LAG_MS / 1000} s; connect storm, ${storm.clients} clients, ${storm.shutdowns} shutdowns)`)
  log(table(runtimeHeaders, runs.map(runtimeRow)))
  return { config: { lagMs: LAG_MS, graceful: GRACEFUL, rolling: { durationMs: rolling.durationMs, minRequests: rolling.minRequests, rate: rolling.rate, loops: rolling.loops }, storm: { clients: storm.clients, shutdowns: storm.shutdowns, preStopDelayMs: storm.graceful.preStopDelayMs } }, runs }
}

export const runtimeHeaders = ['runtime', 'variant', 'rolling: requests', 'rolling: failed', 'rolling: old pod exit', 'storm: requests', 'storm: ECONNRESET per shutdown', `storm: ${OUTCOME_LABEL.refused}`, 'storm: other failed', 'storm: exits']
export function runtimeRow (r) {
  if (r.skipped) return [r.runtime, '—', `skipped: ${r.skipped}`]
  if (r.error) return [r.runtime, r.variant, `error: ${r.error.split('\n')[0].slice(0, 80)}`]
  const c = r.storm.counts
  return [r.runtime, r.variant, r.rolling.requests, r.rolling.failed, r.rolling.exitCode, OUTCOMES.reduce((n, k) => n + c[k], 0),
    r.storm.shutdowns.map((s) => s.counts.reset).join(' '), c.refused, c.status503 + c.timeout + c.other, [...new Set(r.storm.shutdowns.map((s) => s.exitCode))].join(' ')]
}

// The verdict of a --quick run (bench/lib/verdict.mjs): on Node, the rolling update's failed
// requests (tolerance 2, as the rolling section: a stray socket race) and the storm's resets per
// shutdown (noise: their spread, at least 1). Bun and Deno reset by design (README, "Runtimes"):
// their resets are reported, not judged.
export function metrics (results) {
  return results.runs.filter((r) => !r.skipped && !r.error && r.runtime.startsWith('node')).flatMap((r) => {
    const resets = r.storm.shutdowns.map((s) => s.counts.reset)
    return [
      { name: `${r.variant} on ${r.runtime}: rolling failed`, value: r.rolling.failed, better: 'lower', noise: 2 },
      { name: `${r.variant} on ${r.runtime}: storm ECONNRESET/shutdown`, value: resets.reduce((a, b) => a + b, 0) / resets.length, better: 'lower', noise: Math.max(1, Math.max(...resets) - Math.min(...resets)) }
    ]
  })
}
