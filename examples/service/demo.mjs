#!/usr/bin/env node
/**
 * One-command demo of a graceful shutdown under load (`pnpm demo`, about 10 s):
 *
 * 1. starts the example service (fastify; `--express` for the express entry) on 127.0.0.1 with an
 *    ephemeral port and a temporary SQLite file, and watches /ready answer 503 "starting" while its
 *    job queue warms up, then 200;
 * 2. drives keep-alive load with undici: fast requests, slow requests and job submissions, while a
 *    simulated load balancer polls /ready; a few server-sent-event clients (GET /events) listen;
 * 3. sends SIGTERM in the middle of the load. The service keeps serving during pre-stop while /ready
 *    answers 503; the "load balancer" notices and, after a propagation lag, the clients stop sending,
 *    as they would behind a real load balancer;
 *    The event streams stay open through pre-stop; when the drain begins each gets a `retry:` hint
 *    and a clean end;
 * 4. prints what the clients saw (sent, ok, failed by kind), and graceful's metrics as a Prometheus
 *    scrape of GET /metrics during pre-stop saw them;
 * 5. starts the service again on the same database and shows that the counters and the unfinished
 *    job queue came back, and that the event-stream clients reconnected to it, resuming after their
 *    last event id (Last-Event-ID);
 * 6. ends with the timeline of the shutdown it ran (src/timeline.mjs), drawn from the report, and
 *    where to look for the metrics.
 *
 * Exits 0 when no request failed, the service exited 0, the state came back and every event
 * stream ended cleanly and resumed on the new instance; 1 otherwise.
 * Children are killed on any failure.
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool } from 'undici'
import { reportFromLogLine, startService } from './src/child.mjs'
import { EventStreamClient } from './src/event-source.mjs'
import { renderTimeline } from './src/timeline.mjs'

const framework = process.argv.includes('--express') ? 'express' : 'fastify'

const SETTINGS = {
  PRESTOP_DELAY_MS: '1000', // serve this long after SIGTERM while /ready says 503
  PRESTOP_QUIET_MS: '0', // fixed pre-stop window, so the timeline is easy to read
  GRACE_PERIOD_MS: '10000',
  HOOK_TIMEOUT_MS: '1000', // 4 hooks × 1 s: within half of the grace period
  JOB_MS: '150', // the worker is slower than the clients: a queue builds up
  LOG_REQUESTS: 'false',
  STARTUP_MS: '1000' // the job queue's warm-up: /ready answers 503 "starting" meanwhile
}
const LOAD = {
  clients: 8, // concurrent keep-alive clients
  beforeSignalMs: 1500, // load before SIGTERM
  slowMs: 800, // GET /slow?ms=…: in flight when the signal comes
  lbPollMs: 100, // how often the simulated load balancer probes /ready
  lbLagMs: 400, // after /ready failed, traffic still arrives this long (endpoint removal propagating)
  eventClients: 3, // GET /events listeners, reconnecting through the load balancer
  scrapeAfterSignalMs: 200, // when the demo's "Prometheus" scrapes GET /metrics (inside pre-stop)
  maxMs: 10_000 // hang guard for the load phase
}

const started = Date.now()
/** @param {string} msg */
const step = msg => console.log(`[${((Date.now() - started) / 1000).toFixed(2).padStart(5)} s] ${msg}`)
const pad = (/** @type {unknown} */ v, /** @type {number} */ n) => String(v).padEnd(n)
const lpad = (/** @type {unknown} */ v, /** @type {number} */ n) => String(v).padStart(n)

/** @type {Set<import('./src/child.mjs').ServiceProcess>} */
const children = new Set()
function killChildren () {
  for (const child of children) child.kill()
}
process.once('exit', killChildren)
/** Stops the event-stream clients' reconnect loops (at the end, or on a failure). */
const eventsDone = new AbortController()
for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(sig, () => {
    killChildren()
    process.exit(130)
  })
}

const dir = mkdtempSync(join(tmpdir(), 'graceful-demo-'))
const env = { ...SETTINGS, DB_PATH: join(dir, 'service.db') }

/**
 * Echoes the service's own log lines (start, shutdown progress, warnings) into the demo's output;
 * the report line is printed separately as a timeline.
 * @param {Record<string, unknown>} line
 */
function echoServiceLine (line) {
  if (reportFromLogLine(line)) return
  const { level, time, pid, hostname, msg, ...fields } = line
  let extra = JSON.stringify(fields)
  if (extra === '{}') extra = ''
  if (extra.length > 110) extra = extra.slice(0, 107) + '...'
  const prefix = typeof level === 'number' && level >= 50 ? 'ERROR ' : typeof level === 'number' && level >= 40 ? 'WARN ' : ''
  step(`    service: ${prefix}${msg ?? ''} ${extra}`)
}

/**
 * The load balancer's view for new connections: the instance in rotation, if any. The event-stream
 * clients reconnect through it, so they reach the new instance once it is ready, never the old one.
 */
class Rotation {
  /** @type {string | null} */
  #url = null
  /** @type {Set<(url: string) => void>} */
  #waiting = new Set()

  /** @param {string | null} url the instance now in rotation, or null for none */
  set (url) {
    this.#url = url
    if (url === null) return
    for (const resolve of this.#waiting) resolve(url)
    this.#waiting.clear()
  }

  /**
   * Resolves with the instance in rotation, once there is one.
   * @param {AbortSignal} signal
   * @returns {Promise<string>}
   */
  next (signal) {
    if (this.#url !== null) return Promise.resolve(this.#url)
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiting.delete(done)
        reject(signal.reason)
      }
      const done = (/** @type {string} */ url) => {
        signal.removeEventListener('abort', onAbort)
        resolve(url)
      }
      if (signal.aborted) return onAbort()
      this.#waiting.add(done)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}

/**
 * Starts the event-stream clients; they log each end and each reconnection on the timeline.
 * @param {Rotation} rotation @param {AbortSignal} signal @param {() => number | null} signalledAt when SIGTERM was sent
 */
function startEventClients (rotation, signal, signalledAt) {
  return Array.from({ length: LOAD.eventClients }, (_, i) => {
    const name = `SSE client ${i + 1}`
    const client = new EventStreamClient({
      target: s => rotation.next(s),
      onConnection (c) {
        if (c.sentLastEventId !== null) step(`${name}: reconnected to ${c.url} with Last-Event-ID ${c.sentLastEventId}`)
      },
      onEnd (c) {
        if (c.end === 'closed by client') return
        const at = signalledAt()
        const when = at === null ? '' : ` ${((c.endedAt ?? 0) - at) / 1000} s after SIGTERM`
        const how = c.end === 'clean' ? 'ended cleanly' : `FAILED (${c.end})`
        const retry = c.retryMs === null ? 'no retry: hint' : `retry: ${c.retryMs} ms`
        step(`${name}: stream ${how}${when}, after ${c.events} events (last id ${c.lastId}), ${retry}`)
      }
    })
    return { name, client, running: client.run(signal) }
  })
}

/**
 * Checks the event-stream clients' connections: one to the first instance that stayed open through
 * pre-stop and ended cleanly with a retry hint, then one to the new instance that resumed after the
 * last id. Prints a line per client and returns the problems found.
 * @param {ReturnType<typeof startEventClients>} clients @param {string} oldUrl @param {string} newUrl
 * @param {number[]} eventsAtSignal events each client had received on its first connection at SIGTERM
 */
function checkEventClients (clients, oldUrl, newUrl, eventsAtSignal) {
  console.log('')
  console.log('Event-stream clients (GET /events):')
  /** @type {string[]} */
  const problems = []
  clients.forEach(({ name, client }, i) => {
    const [first, second, ...more] = client.connections
    const throughPreStop = first ? first.events - eventsAtSignal[i] : 0
    const ok = first?.url === oldUrl && first.end === 'clean' && first.retryMs !== null && throughPreStop > 0 &&
      second?.url === newUrl && second.sentLastEventId === first.lastId &&
      second.firstId === String(Number(first.lastId) + 1) && more.length === 0
    console.log(`  ${name}: ${throughPreStop} events after SIGTERM on the old instance; clean end with retry: ${first?.retryMs} ms; ` +
      `resumed on the new instance after id ${second?.sentLastEventId} with id ${second?.firstId} ${ok ? '✓' : '✗'}`)
    if (!ok) problems.push(`${name}: ${client.connections.map(c => `${c.url} ${c.end ?? 'open'} (ids ${c.firstId}-${c.lastId})`).join(', ')}`)
  })
  return problems
}

/** @typedef {'fast' | 'slow' | 'enqueue'} Kind */

/**
 * The client side: what was sent and how each request ended.
 */
class Tally {
  constructor () {
    this.sent = 0
    this.ok = 0
    this.sentAfterSignal = 0
    this.okAfterSignal = 0
    this.connectionClose = 0
    this.jobsAccepted = 0
    /** @type {Record<Kind, { sent: number, ok: number }>} */
    this.byKind = { fast: { sent: 0, ok: 0 }, slow: { sent: 0, ok: 0 }, enqueue: { sent: 0, ok: 0 } }
    /** @type {Map<string, number>} */
    this.failures = new Map()
  }

  /** @param {string} kind */
  fail (kind) {
    this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1)
  }

  get failed () {
    let n = 0
    for (const count of this.failures.values()) n += count
    return n
  }
}

/**
 * One request of the load; never throws, records the outcome.
 * @param {Pool} pool @param {Kind} kind @param {Tally} tally @param {() => boolean} afterSignal
 */
async function request (pool, kind, tally, afterSignal) {
  const late = afterSignal()
  tally.sent++
  tally.byKind[kind].sent++
  if (late) tally.sentAfterSignal++
  /** @type {import('undici').Dispatcher.RequestOptions} */
  const options = kind === 'fast'
    ? { path: '/stats', method: 'GET' }
    : kind === 'slow'
      ? { path: `/slow?ms=${LOAD.slowMs}`, method: 'GET' }
      : { path: '/jobs', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { n: tally.sent } }) }
  try {
    const res = await pool.request({ ...options, headersTimeout: 15_000, bodyTimeout: 15_000 })
    await res.body.text()
    if (res.headers.connection === 'close') tally.connectionClose++
    if (res.statusCode >= 200 && res.statusCode < 300) {
      tally.ok++
      tally.byKind[kind].ok++
      if (late) tally.okAfterSignal++
      if (kind === 'enqueue') tally.jobsAccepted++
    } else {
      tally.fail(`HTTP ${res.statusCode}`)
    }
  } catch (err) {
    const e = /** @type {{ code?: string, name?: string }} */ (err)
    tally.fail(e.code ?? e.name ?? 'error')
  }
}

/** @returns {Kind} */
function pickKind () {
  const r = Math.random()
  return r < 0.55 ? 'fast' : r < 0.7 ? 'slow' : 'enqueue'
}

/**
 * Fetches GET /metrics once, `afterMs` after the call (during pre-stop, when called at the signal);
 * resolves with the Prometheus text, or null when it failed.
 * @param {string} url @param {number} afterMs
 * @returns {Promise<string | null>}
 */
async function scrapeMetrics (url, afterMs) {
  await sleep(afterMs)
  try {
    const res = await fetch(`${url}/metrics`)
    return res.ok ? await res.text() : null
  } catch {
    return null
  }
}

/**
 * Prints graceful's own series from a scrape (comments and the histograms' buckets left out).
 * @param {string | null} text
 */
function printMetrics (text) {
  console.log('')
  console.log(`Metrics: GET /metrics (Prometheus text format) ${LOAD.scrapeAfterSignalMs} ms after SIGTERM, during pre-stop:`)
  if (text === null) {
    console.log('  (the scrape failed)')
    return
  }
  const series = text.split('\n').filter(line => line.startsWith('graceful_') && !line.includes('_bucket{'))
  if (series.length === 0) console.log('  (no graceful_* series: graceful records them when @opentelemetry/api is installed and a MeterProvider was registered before the coordinator)')
  for (const line of series) console.log(`  ${line.replace(/,?otel_scope_name="[^"]*"/, '').replace('{}', '')}`)
}

/** @param {Tally} tally */
function printTally (tally) {
  console.log('')
  console.log('Clients:')
  console.log(`  sent ${tally.sent} (${tally.sentAfterSignal} after SIGTERM), ok ${tally.ok} (${tally.okAfterSignal} after SIGTERM), failed ${tally.failed}`)
  for (const [kind, { sent, ok }] of Object.entries(tally.byKind)) {
    console.log(`    ${pad(kind, 8)} sent ${lpad(sent, 4)}  ok ${lpad(ok, 4)}`)
  }
  if (tally.failed === 0) console.log('  failed by kind: none')
  else console.log(`  failed by kind: ${[...tally.failures].map(([k, n]) => `${k} ×${n}`).join(', ')}`)
  console.log(`  responses carrying "Connection: close" (keep-alive clients told to reconnect): ${tally.connectionClose}`)
  console.log(`  jobs accepted (202): ${tally.jobsAccepted}`)
}

/**
 * Polls /ready until it answers 200, printing each different answer: a new instance says
 * "starting" until its startup tasks are done, and only then takes traffic.
 * @param {string} url
 */
async function watchStartup (url) {
  let last = ''
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${url}/ready`)
    const seen = `${res.status} ${(await res.text()).trim()}`
    if (seen !== last) step(`/ready answered ${seen}`)
    last = seen
    if (res.status === 200) return
    await sleep(100)
  }
  throw new Error('the service did not become ready within 10 s')
}

async function main () {
  step(`starting the ${framework} service (temp DB ${env.DB_PATH})`)
  const service = await startService({ framework, env, onStart: s => children.add(s), onLine: echoServiceLine })
  step(`service pid ${service.pid} listening at ${service.url}`)
  await watchStartup(service.url)
  const rotation = new Rotation()
  rotation.set(service.url)
  /** @type {number | null} */
  let signalledAt = null
  const eventClients = startEventClients(rotation, eventsDone.signal, () => signalledAt)
  step(`${LOAD.eventClients} SSE clients listening on GET /events`)

  const pool = new Pool(service.url, { connections: LOAD.clients, keepAliveTimeout: 10_000 })
  const probes = new Pool(service.url, { connections: 1 })
  const loadEnds = Date.now() + LOAD.maxMs
  const tally = new Tally()
  let signalled = false
  let inRotation = true // the load balancer's view
  let receivingTraffic = true // what reaches the instance: lags the load balancer's view

  // The simulated load balancer: takes the instance out of rotation when /ready fails.
  const lb = (async () => {
    while (inRotation && Date.now() < loadEnds) {
      try {
        const res = await probes.request({ path: '/ready', method: 'GET', headersTimeout: 2000 })
        const body = await res.body.text()
        if (res.statusCode !== 200) {
          inRotation = false
          rotation.set(null)
          step(`load balancer: /ready answered ${res.statusCode} ${body.trim()} -> out of rotation; traffic stops within ${LOAD.lbLagMs} ms`)
        }
      } catch (err) {
        inRotation = false
        rotation.set(null)
        step(`load balancer: /ready failed (${/** @type {{ code?: string }} */ (err).code ?? err}) -> out of rotation`)
      }
      if (inRotation) await sleep(LOAD.lbPollMs)
    }
    await sleep(LOAD.lbLagMs)
    receivingTraffic = false
    step('load balancer: no more traffic to this instance; waiting for the answers still in flight')
  })()

  step(`load: ${LOAD.clients} keep-alive clients, mix of GET /stats, GET /slow?ms=${LOAD.slowMs}, POST /jobs`)
  const clients = Array.from({ length: LOAD.clients }, async () => {
    while (receivingTraffic && Date.now() < loadEnds) {
      await request(pool, pickKind(), tally, () => signalled)
      await sleep(5)
    }
  })

  /** @type {number[]} */
  let eventsAtSignal = []
  /** @type {Promise<string | null>} */
  let scrape = Promise.resolve(null)
  const progress = setInterval(() => step(`  … sent ${tally.sent}, ok ${tally.ok}, failed ${tally.failed}`), 500)
  try {
    await sleep(LOAD.beforeSignalMs)
    signalled = true
    signalledAt = Date.now()
    eventsAtSignal = eventClients.map(({ client }) => client.current?.events ?? 0)
    step(`SIGTERM -> pid ${service.pid} (sent so far: ${tally.sent})`)
    service.signal('SIGTERM')
    scrape = scrapeMetrics(service.url, LOAD.scrapeAfterSignalMs)
    await Promise.all([...clients, lb])
    step('load finished: every request sent has its answer')
  } finally {
    clearInterval(progress)
  }

  const exit = await service.waitForExit(20_000)
  step(`service exited: code ${exit.code}${exit.signal ? `, signal ${exit.signal}` : ''}`)
  await Promise.all([pool.close(), probes.close()])

  printTally(tally)
  printMetrics(await scrape)
  const report = await service.waitFor(() => service.report, { timeoutMs: 1000, what: 'the shutdown report', allowExit: true })
    .catch(() => undefined)
  console.log('')

  // Restart on the same database.
  step('restarting the service on the same database')
  const again = await startService({ framework, env, onStart: s => children.add(s), onLine: echoServiceLine })
  await watchStartup(again.url)
  rotation.set(again.url)
  // The event-stream clients come back through the load balancer; wait (bounded) until each got an event here.
  for (let i = 0; i < 100 && !eventClients.every(({ client }) => client.current?.url === again.url && client.current.events > 0); i++) await sleep(50)
  const res = await fetch(`${again.url}/stats`)
  const stats = /** @type {{ eventStreams: { open: number }, boot: { number: number, restoredPending: string[], restoredCounters: Record<string, number>, lastShutdown: Record<string, unknown> | null } }} */ (await res.json())
  const { restoredCounters: c, restoredPending, lastShutdown } = stats.boot
  step(`restarted (pid ${again.pid}), boot #${stats.boot.number}; restored from the database:`)
  console.log(`    counters: ${c.requests} requests, ${c.jobsEnqueued} jobs enqueued, ${c.jobsFinished} finished`)
  console.log(`    queue: ${restoredPending.length} unfinished job(s) back in the queue`)
  if (lastShutdown) console.log(`    last shutdown persisted at ${lastShutdown.persistedAt}: ${lastShutdown.pending} pending, ${lastShutdown.finished} finished`)
  const accounted = c.jobsFinished + restoredPending.length
  const jobsOk = c.jobsEnqueued === tally.jobsAccepted && accounted === tally.jobsAccepted
  console.log(`    every accepted job accounted for: ${tally.jobsAccepted} accepted = ${c.jobsFinished} finished + ${restoredPending.length} queued ${jobsOk ? '✓' : '✗'}`)
  console.log(`    event streams open on the new instance: ${stats.eventStreams.open}`)
  eventsDone.abort()
  await Promise.all(eventClients.map(({ running }) => running))
  const eventProblems = checkEventClients(eventClients, service.url, again.url, eventsAtSignal)
  console.log('')

  again.signal('SIGTERM')
  const exit2 = await again.waitForExit(20_000)
  step(`second run stopped with SIGTERM: exit code ${exit2.code}`)

  const problems = []
  if (tally.failed > 0) problems.push(`${tally.failed} request(s) failed`)
  if (exit.code !== 0) problems.push(`service exited with ${exit.code ?? exit.signal}`)
  if (!report) problems.push('no shutdown report')
  if (!jobsOk) problems.push('persisted jobs do not match what the clients saw')
  problems.push(...eventProblems)
  if (exit2.code !== 0) problems.push(`restarted service exited with ${exit2.code ?? exit2.signal}`)
  console.log('')
  console.log(report ? renderTimeline(report) : '(no shutdown report found on the service\'s stdout)')
  console.log('')
  console.log(`Metrics: the service serves them on GET /metrics (src/metrics.mjs). To look yourself: PORT=3000 node examples/service/${framework}.mjs, then curl http://127.0.0.1:3000/metrics`)
  console.log('')
  if (problems.length === 0) {
    console.log(`OK: ${tally.ok} requests served, none failed; event streams moved on with no error; clean exit; state survived the restart. (${((Date.now() - started) / 1000).toFixed(1)} s)`)
  } else {
    console.log(`NOT OK: ${problems.join('; ')}`)
    process.exitCode = 1
  }
}

try {
  await main()
} catch (err) {
  console.error(`demo failed: ${err instanceof Error ? err.stack : err}`)
  process.exitCode = 1
} finally {
  eventsDone.abort()
  killChildren()
  rmSync(dir, { recursive: true, force: true })
}
