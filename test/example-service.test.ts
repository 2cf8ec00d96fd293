/**
 * End-to-end tests of the example service (examples/service) run as a child process, once per
 * entry (fastify and express): SIGTERM while the worker has a job in hand and more are queued, then
 * a restart on the same database.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
    const start = async () => await startService({ framework, env, onStart: s => children.push(s) })

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
      t.ok(at('cleanup:sqlite:ok') > at('persist:service-state:ok'), 'the database is closed after persistence')
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
  })
}
