/**
 * End-to-end tests of the example service (examples/service) run as a child process, once per
 * entry (fastify and express): SIGTERM while the worker has a job in hand and more are queued, then
 * a restart on the same database; an event stream (GET /events) through SIGTERM.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { startService, type ServiceProcess } from '../examples/service/src/child.mjs'
import { Store } from '../examples/service/src/store.mjs'

/** Hang guards only: generous bounds, never asserted as timings. */
const EXIT_TIMEOUT_MS = 20_000
const POLL_MS = 25
const POLL_LIMIT = 400 // × 25 ms = 10 s

interface Stats {
  state: string
  boot: {
    number: number
    restoredPending: string[]
    restoredCounters: { boots: number, requests: number, jobsEnqueued: number, jobsFinished: number }
    lastShutdown: { pending: number, finished: number } | null
  }
  counters: { boots: number, requests: number, jobsEnqueued: number, jobsFinished: number }
  queue: { pending: number, inHand: string | null, closed: boolean }
  eventStreams: { open: number, opened: number }
}

async function getStats (url: string): Promise<Stats> {
  const res = await request(`${url}/stats`)
  if (res.statusCode !== 200) throw new Error(`GET /stats answered ${res.statusCode}: ${await res.body.text()}`)
  return await res.body.json() as Stats
}

async function enqueue (url: string, payload: unknown): Promise<string> {
  const res = await request(`${url}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ payload })
  })
  if (res.statusCode !== 202) throw new Error(`POST /jobs answered ${res.statusCode}: ${await res.body.text()}`)
  const body = await res.body.json() as { id: string }
  return body.id
}

/** Rejects after `ms`: a hang guard, not a timing assertion. */
async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms) })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Opens GET /events on a connection of its own and collects the raw stream. `ended` resolves with
 * 'end' when the server ended the response, or with the error / 'closed early' when it was cut.
 */
function openEventStream (t: Test, url: string, headers: Record<string, string> = {}): {
  text: () => string, firstEvent: Promise<void>, ended: Promise<string>
} {
  let text = ''
  const req = http.get(`${url}/events`, { headers: { accept: 'text/event-stream', ...headers }, agent: false })
  t.teardown(() => { req.destroy() })
  const ended = new Promise<string>(resolve => {
    req.once('error', err => { resolve((err as { code?: string }).code ?? err.message) })
    req.once('response', res => {
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.once('end', () => { resolve('end') })
      res.once('error', err => { resolve((err as { code?: string }).code ?? err.message) })
      res.once('close', () => { resolve('closed early') }) // after 'end' when the end was clean
    })
  })
  const firstEvent = (async () => { // bounded: POLL_LIMIT polls
    for (let i = 0; i < POLL_LIMIT && !text.includes('\n\n'); i++) await sleep(POLL_MS)
  })()
  return { text: () => text, firstEvent, ended }
}

/** Reads what the stopped service left in its database. */
function readDatabase (path: string): { finished: string[], pending: string[] } {
  const store = new Store(path, { readonly: true })
  try {
    return { finished: store.finishedIds(), pending: store.pendingIds() }
  } finally {
    store.close()
  }
}

for (const framework of ['fastify', 'express'] as const) {
  t.test(`${framework} entry`, async t => {
    const dir = mkdtempSync(join(tmpdir(), `graceful-example-${framework}-`))
    const dbPath = join(dir, 'service.db')
    const env = {
      DB_PATH: dbPath,
      JOB_MS: '1000', // long enough that SIGTERM finds a job in hand and more queued
      PRESTOP_DELAY_MS: '0',
      PRESTOP_QUIET_MS: '0',
      GRACE_PERIOD_MS: '20000',
      HOOK_TIMEOUT_MS: '2000',
      LOG_REQUESTS: 'false'
    }
    // Registered before anything can fail: children are killed and the folder removed whatever happens.
    const children: ServiceProcess[] = []
    t.teardown(() => {
      for (const child of children) child.kill()
      rmSync(dir, { recursive: true, force: true })
    })
    const start = async (extraEnv: Record<string, string> = {}) =>
      await startService({ framework, env: { ...env, ...extraEnv }, onStart: s => children.push(s) })

    const ids: string[] = []
    let inHand = ''
    let persisted = { finished: [] as string[], pending: [] as string[] }

    await t.test('on SIGTERM the worker finishes the job in hand and leaves the rest queued', async t => {
      const service = await start()
      for (let i = 0; i < 4; i++) ids.push(await enqueue(service.url, { i }))
      t.equal(new Set(ids).size, 4, 'POST /jobs accepted 4 jobs')

      for (let i = 0; i < POLL_LIMIT && !inHand; i++) {
        inHand = (await getStats(service.url)).queue.inHand ?? ''
        if (!inHand) await sleep(POLL_MS)
      }
      t.ok(ids.includes(inHand), 'the worker took a job')

      service.signal('SIGTERM')
      const exit = await service.waitForExit(EXIT_TIMEOUT_MS)
      t.equal(exit.code, 0, 'the service exits with code 0 after a clean shutdown')
      t.equal(exit.signal, null, 'it exits by itself, not killed by the signal')

      persisted = readDatabase(dbPath)
      t.ok(persisted.finished.includes(inHand), 'the job in hand at SIGTERM was finished and recorded')
      t.ok(persisted.pending.length >= 1, 'jobs not started stay queued')
      t.same([...persisted.finished, ...persisted.pending].sort(), [...ids].sort(),
        'every job is either finished or in the persisted queue, exactly once')
      t.same(persisted.pending, ids.filter(id => !persisted.finished.includes(id)), 'the queue keeps its order')

      const complaints = service.lines.filter(l => typeof l.level === 'number' && l.level >= 40)
      t.same(complaints, [], 'a clean run logs no warning or error')

      const report = service.report
      if (!report) throw new Error(`no shutdown report in the service's output:\n${service.tail()}`)
      t.equal(report.reason, 'SIGTERM')
      t.equal(report.exitCode, 0)
      t.equal(report.tasks.finished, 1, 'the worker task finished within the drain')
      t.equal(report.tasks.aborted, 0)
      const hooks = report.hooks.map(h => `${h.phase}:${h.name}:${h.outcome}`)
      const at = (hook: string): number => hooks.indexOf(hook)
      t.ok(at('cleanup:job-queue:ok') >= 0, 'the queue is closed by a cleanup hook')
      t.ok(at('persist:service-state:ok') > at('cleanup:job-queue:ok'), 'state is persisted after the queue closed')
      t.ok(at('afterPersist:sqlite:ok') > at('persist:service-state:ok'), 'the database is closed after persistence, in the after-persist phase')
    })

    await t.test('persisted state survives a graceful restart', async t => {
      const service = await start()
      const stats = await getStats(service.url)
      t.equal(stats.boot.number, 2, 'second boot')
      t.same(stats.boot.restoredPending, persisted.pending, 'the unfinished queue came back, in order')
      t.equal(stats.boot.restoredCounters.jobsEnqueued, ids.length, 'the enqueued counter came back')
      t.equal(stats.boot.restoredCounters.jobsFinished, persisted.finished.length, 'the finished counter came back')
      t.ok(stats.boot.restoredCounters.requests >= ids.length + 1, 'the request counter came back')
      t.equal(stats.boot.lastShutdown?.pending, persisted.pending.length, 'the last shutdown is on record')
      t.equal(stats.counters.jobsEnqueued, ids.length, 'counting goes on from the restored values')

      service.signal('SIGTERM')
      const exit = await service.waitForExit(EXIT_TIMEOUT_MS)
      t.equal(exit.code, 0, 'the restarted service exits 0 too')
      const after = readDatabase(dbPath)
      t.same([...after.finished, ...after.pending].sort(), [...ids].sort(), 'still every job exactly once')
    })

    await t.test('an event stream stays open through pre-stop, then ends cleanly with a retry: hint', async t => {
      const service = await start({ PRESTOP_DELAY_MS: '1000' })
      const stream = openEventStream(t, service.url, { 'last-event-id': '41' })
      await stream.firstEvent
      t.match(stream.text(), /^id: 42\ndata: /, 'event ids go on from Last-Event-ID')
      t.equal((await getStats(service.url)).eventStreams.open, 1, '/stats counts the open stream')

      const beforeSignal = stream.text().length
      service.signal('SIGTERM')
      t.equal(await within(stream.ended, EXIT_TIMEOUT_MS, 'the end of the stream'), 'end', 'the response ends cleanly, not by a reset')
      const afterSignal = stream.text().slice(beforeSignal)
      t.match(afterSignal, /^id: \d+\ndata: /m, 'events kept coming during pre-stop')
      t.match(afterSignal, /\n\nretry: \d+\n\n$/, 'the last thing sent is a retry: hint')

      const exit = await service.waitForExit(EXIT_TIMEOUT_MS)
      t.equal(exit.code, 0, 'the service exits 0: the stream did not hold it to the deadline')
      t.equal(service.report?.longLived.streamsEnded, 1, 'the report counts the ended stream')
    })
  })
}
