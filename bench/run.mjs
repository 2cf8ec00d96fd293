#!/usr/bin/env node
// graceful benchmarks. `node bench/run.mjs [--only rolling,overhead,idle,memory] [--quick]`
// Options: --duration MS (rolling: minimum load per run), --requests N (rolling:
// minimum requests per run, default 20000), --rate RPS (rolling fast-request rate),
// --lag MS (LB propagation lag of the main rolling variants), --surge MS (rolling: how long both
// pods serve before the old one's SIGTERM, as Kubernetes' minReadySeconds holds it), --variant TEXT (only matching
// rolling, connect-storm, proxies and websockets variants, runtimes or instructions doors by name; `slow-start`: the rolling slow-start
// group; `tls`: the rolling TLS group; `pinned`: the rolling rows with pinned clients; the rows measured replace the same rows of the results file), --rounds N (overhead and memory rounds, instructions runs per variant, rolling updates per row the latency goal compares),
// --shutdowns N (connect-storm shutdowns, proxies restarts, single-host reloads per variant), --client-processes N (ws-spread:
// the processes the WebSocket clients are split over; default one per 1,250 clients), --no-doc (do not update BENCHMARKS.md).
// Every section writes bench/results/<section>.json (<section>.quick.json with --quick); a full
// run also rewrites the generated tables of BENCHMARKS.md and the charts in bench/charts/. A --quick
// run ends with a verdict: each section's figures against the committed results (bench/lib/verdict.mjs),
// exit code 1 when one is worse beyond its measured noise.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { killAll } from './lib/children.mjs'
import { runRolling } from './sections/rolling.mjs'
import { runOverhead } from './sections/overhead.mjs'
import { runIdle } from './sections/idle.mjs'
import { runMemory } from './sections/memory.mjs'
import { runConnectStorm } from './sections/connect-storm.mjs'
import { runProxies } from './sections/proxies.mjs'
import { runWebsockets } from './sections/websockets.mjs'
import { runWsSpread } from './sections/ws-spread.mjs'
import { runSingleHost } from './sections/single-host.mjs'
import { runRuntimes } from './sections/runtimes.mjs'
import { runInstructions } from './sections/instructions.mjs'
import { renderCharts, updateDoc } from './report.mjs'
import { stringifyResults } from './lib/results-json.mjs'

const SECTIONS = { rolling: runRolling, overhead: runOverhead, idle: runIdle, memory: runMemory, 'connect-storm': runConnectStorm, proxies: runProxies, websockets: runWebsockets, 'ws-spread': runWsSpread, 'single-host': runSingleHost, runtimes: runRuntimes, instructions: runInstructions }

function parseArgs (argv) {
  const args = { only: Object.keys(SECTIONS), quick: false, doc: true }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    const num = () => {
      const n = Number(value())
      if (!Number.isFinite(n) || n < 0) throw new Error(`${a} must be a non-negative number`)
      return n
    }
    if (a === '--quick') args.quick = true
    else if (a === '--no-doc') args.doc = false
    else if (a.startsWith('--only')) {
      args.only = value().split(',').map((s) => s.trim()).filter(Boolean)
      for (const s of args.only) if (!SECTIONS[s]) throw new Error(`unknown section '${s}' (one of ${Object.keys(SECTIONS).join(', ')})`)
    } else if (a.startsWith('--duration')) args.duration = num()
    else if (a.startsWith('--rate')) args.rate = num()
    else if (a.startsWith('--requests')) args.requests = num()
    else if (a.startsWith('--lag')) args.lag = num()
    else if (a.startsWith('--surge')) args.surge = num()
    else if (a.startsWith('--shutdowns')) args.shutdowns = Math.max(1, Math.round(num()))
    else if (a.startsWith('--rounds')) args.rounds = Math.max(1, Math.round(num()))
    else if (a.startsWith('--variant')) args.variant = value()
    else if (a.startsWith('--client-processes')) args.clientProcesses = Math.max(1, Math.round(num()))
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/run.mjs [--only rolling,overhead,idle,memory,connect-storm,proxies,websockets,ws-spread,single-host,runtimes,instructions] [--quick] [--duration MS] [--requests N] [--rate RPS] [--lag MS] [--surge MS] [--variant TEXT] [--rounds N] [--shutdowns N] [--client-processes N] [--no-doc]')
      process.exit(0)
    } else throw new Error(`unknown option ${a}`)
  }
  return args
}

function fdHardLimit () {
  try {
    const out = execFileSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()
    return out === 'unlimited' ? 65536 : Math.min(Number(out), 65536)
  } catch {
    return 1024
  }
}

/**
 * A `--variant` run measures a few rows: they replace the same rows (same variant, proxy, LB lag and runtime)
 * of the results file already there and the other rows are kept, so the tables stay whole.
 */
function mergeRows (previous, fresh) {
  const key = (r) => JSON.stringify([r.variant, r.proxy, r.lagMs, r.runtime])
  const merged = { ...previous, ...fresh }
  for (const [name, rows] of Object.entries(fresh)) {
    const old = previous[name]
    if (!Array.isArray(rows) || !Array.isArray(old)) continue
    const byKey = new Map(rows.map((r) => [key(r), r]))
    merged[name] = [...old.map((r) => byKey.get(key(r)) ?? r), ...rows.filter((r) => !old.some((o) => key(o) === key(r)))]
  }
  return merged
}

export function machine () {
  const cpus = os.cpus()
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model?.trim(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    fdLimit: fdHardLimit()
  }
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const meta = { date: new Date().toISOString(), mode: args.quick ? 'quick' : 'full', args, machine: machine() }
  const log = (line) => console.log(line)
  log(`graceful bench — ${meta.mode}; sections: ${args.only.join(', ')}; ${meta.machine.cpus} CPUs, node ${meta.machine.node}, fd limit ${meta.machine.fdLimit}`)
  const dir = new URL('./results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const written = []
  let failed = false
  for (const name of args.only) {
    const started = performance.now()
    log(`\n=== ${name} ===`)
    let results
    const loadBefore = os.loadavg()[0]
    try {
      results = await SECTIONS[name](args, { log, fdLimit: meta.machine.fdLimit })
    } catch (err) {
      failed = true
      log(`section ${name} failed: ${err.stack || err}`)
      killAll()
      continue
    }
    const file = new URL(`${name}${args.quick ? '.quick' : ''}.json`, dir)
    let record = { section: name, ...meta, loadavg1m: { before: loadBefore, after: os.loadavg()[0] }, elapsedMs: Math.round(performance.now() - started), results }
    if (args.variant && existsSync(file)) {
      // The file keeps the date of its full run; each --variant run is listed under `updates`.
      const previous = JSON.parse(readFileSync(file, 'utf8'))
      const update = { variant: args.variant, date: record.date, elapsedMs: record.elapsedMs, loadavg1m: record.loadavg1m }
      record = { ...previous, results: mergeRows(previous.results, results), updates: [...(previous.updates ?? []), update] }
    }
    writeFileSync(file, stringifyResults(record))
    written.push(name)
    log(`(${name}: ${Math.round((performance.now() - started) / 1000)} s, results in bench/results/${name}${args.quick ? '.quick' : ''}.json)`)
  }
  if (!args.quick && args.doc && written.length) {
    const doc = updateDoc()
    log(`\nBENCHMARKS.md updated (${doc})`)
    log(`charts: ${(await renderCharts()).join(', ')}`)
  }
  if (args.quick && written.length) {
    // The verdict: each section just run against its committed full run (bench/lib/verdict.mjs).
    const { verdict, formatVerdict } = await import('./lib/verdict.mjs')
    const modules = Object.fromEntries(await Promise.all(written.map(async (name) => [name, await import(`./sections/${name}.mjs`)])))
    const rows = verdict({ sections: modules, committedDir: dir, quickDir: dir })
    log('\n' + formatVerdict(rows))
    const notRun = args.only.filter((name) => !written.includes(name))
    if (notRun.length) log(`not judged (the section failed): ${notRun.join(', ')}`)
    const regressions = rows.filter((r) => r.flag === 'REGRESSION')
    if (regressions.length) {
      log(`REGRESSION beyond the noise in ${regressions.length} figure(s): exit code 1`)
      failed = true
    }
  }
  killAll()
  process.exitCode = failed ? 1 : 0
}

main().catch((err) => {
  console.error(err)
  killAll()
  process.exit(1)
})
