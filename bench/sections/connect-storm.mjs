// Connect storm: clients that open a new connection for every request (no keep-alive: reconnecting
// clients, proxies without upstream keep-alive) hit one pod straight through its shutdown. Each
// shutdown is one pod: it serves, gets SIGTERM, and the clients keep going until it exited. A
// refused connect (ECONNREFUSED) is safe to retry; a reset (ECONNRESET: the kernel completed the
// handshake, then the connection was reset) is not, the request was usually sent. Our adapters
// and the frameworks' bare close() alternate in the same run.
import http from 'node:http'
import { startNode, sleep, terminate } from '../lib/children.mjs'
import { exitLabel } from './rolling.mjs'
import { table } from '../lib/table.mjs'

const POD = new URL('../lib/pod.mjs', import.meta.url)
const GRACEFUL = { preStopDelayMs: 500, gracePeriodMs: 10_000 }

export const STORM_VARIANTS = [
  { name: 'fastify-graceful', kind: 'fastify-graceful', ours: true },
  { name: 'fastify app.close()', kind: 'fastify-close', ours: false },
  { name: 'express-graceful', kind: 'express-graceful', ours: true },
  { name: 'express server.close()', kind: 'express-close', ours: false }
]

export const OUTCOMES = ['ok', 'status503', 'refused', 'reset', 'timeout', 'other']
export const OUTCOME_LABEL = { ok: 'ok', status503: '503', refused: 'ECONNREFUSED', reset: 'ECONNRESET', timeout: 'timeout', other: 'other' }

const REQUEST_TIMEOUT_MS = 5000

/** One request on a new connection; resolves to an outcome name (never rejects). */
function oneRequest (port, otherCodes) {
  return new Promise((resolve) => {
    let connected = false
    let settled = false
    const done = (outcome) => {
      if (settled) return
      settled = true
      resolve(outcome)
    }
    const req = http.request({ host: '127.0.0.1', port, path: '/fast', method: 'GET', agent: false, headers: { connection: 'close' }, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      res.resume()
      res.on('end', () => done(res.statusCode < 300 ? 'ok' : res.statusCode === 503 ? 'status503' : 'other'))
      res.on('error', () => done('reset'))
    })
    req.on('socket', (socket) => socket.once('connect', () => { connected = true }))
    req.on('timeout', () => { req.destroy(); done('timeout') })
    req.on('error', (err) => {
      if (err.code === 'ECONNREFUSED') done('refused')
      // A handshake that completed and was then reset: ECONNRESET (sometimes before the client
      // saw its connect complete). A handshake refused or never answered is never a reset.
      else if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
        if (!connected) otherCodes['(ECONNRESET before the connect event)'] = (otherCodes['(ECONNRESET before the connect event)'] ?? 0) + 1
        done('reset')
      } else {
        const code = `${err.code ?? err.message}${connected ? '' : ' before connect'}`
        otherCodes[code] = (otherCodes[code] ?? 0) + 1
        done('other')
      }
    })
    req.end()
  })
}

/** CLIENTS loops, each one request at a time, each on a new connection, until stop() (bounded in time). */
function storm (port, clients, maxMs) {
  const counts = Object.fromEntries(OUTCOMES.map((k) => [k, 0]))
  const otherCodes = {}
  let stopped = false
  const startedAt = performance.now()
  const loop = async () => {
    for (let i = 0; i < 1_000_000 && !stopped && performance.now() - startedAt < maxMs; i++) {
      const outcome = await oneRequest(port, otherCodes)
      counts[outcome]++
      // A refused connect returns at once: pace the retries so the loop does not spin.
      if (outcome === 'refused') await sleep(20)
    }
  }
  const loops = Array.from({ length: clients }, loop)
  return {
    async stop () {
      stopped = true
      await Promise.race([Promise.all(loops), sleep(REQUEST_TIMEOUT_MS + 2000)])
      return { counts, otherCodes }
    }
  }
}

/** One shutdown of one pod under the storm. */
export async function stormShutdown (variant, cfg, runtime) {
  const pod = startNode(POD, [variant.kind, JSON.stringify({ graceful: GRACEFUL, maxLifeMs: 60_000 })], { runtime })
  let load = null
  try {
    const { port } = await pod.next('listening', 20_000)
    load = storm(port, cfg.clients, 60_000)
    await sleep(cfg.warmupMs)
    const tTerm = performance.now()
    const exit = await terminate(pod, 20_000)
    // Clients whose SYN was dropped retransmit it about 1 s later and are refused then.
    await sleep(cfg.tailMs)
    const { counts, otherCodes } = await load.stop()
    load = null
    const report = pod.messages.find((m) => m.type === 'report')?.report ?? null
    return { exitCode: exitLabel(exit), sigtermToExitMs: Math.round(exit.at - tTerm), counts, otherCodes, acceptedWhileClosing: report?.phases?.drain?.acceptedWhileClosing ?? null }
  } finally {
    if (load) await load.stop()
    pod.kill('SIGKILL')
  }
}

export function stormConfig (args) {
  return { shutdowns: args.shutdowns ?? (args.quick ? 2 : 6), clients: 24, warmupMs: args.quick ? 500 : 1000, tailMs: 1500, graceful: GRACEFUL }
}

const headers = ['variant', 'shutdowns', 'requests', ...OUTCOMES.map((k) => OUTCOME_LABEL[k]), 'ECONNRESET per shutdown', 'exits']
export const stormRow = (v) => [v.variant, v.shutdowns.length, v.requests, ...OUTCOMES.map((k) => v.counts[k]), v.shutdowns.map((s) => s.counts.reset).join(' '), [...new Set(v.shutdowns.map((s) => s.exitCode))].join(' ')]
export const stormHeaders = headers

export async function runConnectStorm (args, { log }) {
  const cfg = stormConfig(args)
  const variants = args.variant ? STORM_VARIANTS.filter((v) => v.name.includes(args.variant) || v.kind.includes(args.variant)) : STORM_VARIANTS
  const results = variants.map((v) => ({ variant: v.name, kind: v.kind, ours: v.ours, shutdowns: [], counts: Object.fromEntries(OUTCOMES.map((k) => [k, 0])), requests: 0 }))
  // Round robin over the variants, so a burst of load from elsewhere on the machine hits all of them.
  for (let round = 0; round < cfg.shutdowns; round++) {
    for (const [i, v] of variants.entries()) {
      const r = results[i]
      try {
        const s = await stormShutdown(v, cfg)
        r.shutdowns.push(s)
        for (const k of OUTCOMES) { r.counts[k] += s.counts[k]; r.requests += s.counts[k] }
        log(`connect-storm: ${v.name} #${round + 1}: ${OUTCOMES.map((k) => `${OUTCOME_LABEL[k]} ${s.counts[k]}`).join(', ')}; exit ${s.exitCode}${Object.keys(s.otherCodes).length ? ` (${JSON.stringify(s.otherCodes)})` : ''}${s.acceptedWhileClosing === null ? '' : `; report: accepted after drain began ${s.acceptedWhileClosing}`}`)
      } catch (err) {
        r.error = String(err.message || err)
        log(`  ${v.name} FAILED: ${err.stack || err}`)
      }
    }
  }
  log(`\nConnect storm (${cfg.clients} clients, a new connection per request, pre-stop ${GRACEFUL.preStopDelayMs} ms for ours)`)
  log(table(headers, results.map(stormRow)))
  return { config: cfg, variants: results }
}

// The verdict of a --quick run (bench/lib/verdict.mjs) judges our variants' failed requests per
// shutdown: 503s, resets, timeouts and other errors (a refused connect is safe to retry, so it is
// not one). Per shutdown, since a --quick run has 2 and a full run 6. Noise: the spread over the
// shutdowns, at least 1: our variants lost at most one request in a shutdown (5 of the 36 in the
// three committed full runs, a single reset each), the frameworks' close() 17–23 on average.
const FAILED_NOISE_FLOOR = 1

export function metrics (results) {
  const failed = (counts) => counts.status503 + counts.reset + counts.timeout + counts.other
  return results.variants.filter((v) => v.ours && !v.error && v.shutdowns.length).map((v) => {
    const each = v.shutdowns.map((s) => failed(s.counts))
    return {
      name: `${v.variant}: failed/shutdown`,
      value: each.reduce((a, b) => a + b, 0) / each.length,
      better: 'lower',
      noise: Math.max(FAILED_NOISE_FLOOR, Math.max(...each) - Math.min(...each))
    }
  })
}
