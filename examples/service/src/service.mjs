/**
 * The example's domain, shared by the fastify and the express entry. It wires four things into
 * the shutdown coordinator (`app.graceful` or `expressGraceful()`, both the same interface):
 *
 * 1. The SQLite connection — `startup('sqlite', …)`: its integrity check must pass before /ready
 *    answers 200; `check('sqlite', …)`: while running, /ready answers 503 when it stops answering;
 *    `onCleanup('sqlite', …, { afterPersist: true })`: closed LAST, after the persist hook wrote to it.
 * 2. The job worker — `startup('job-queue', …)`: the queue warms up (STARTUP_MS, standing in for a
 *    broker connection) while /ready answers 503 "starting", then the worker starts with
 *    `track(signal => worker.run(signal))`: on shutdown it stops taking jobs, finishes the one in
 *    hand, leaves the rest queued; the drain phase waits for it.
 * 3. The queue — `onCleanup('job-queue', …)`: closed before persistence, so the snapshot is final.
 * 4. The in-memory state (counters + unfinished queue) — `onPersist('service-state', …)`: written
 *    in one transaction, read back by the next start.
 *
 * Registration order matters: cleanups run in reverse order, persists in order, and
 * `afterPersist` cleanups after all persists.
 *
 * GET /events (`events(req, res)`) is a server-sent-event stream and needs no registration:
 * when the drain begins graceful-core writes a `retry:` hint and ends it cleanly, so an EventSource
 * reconnects, with `Last-Event-ID`, to another instance.
 * @module
 */

import { setTimeout as sleep } from 'node:timers/promises'
import { Store } from './store.mjs'
import { JobQueue, Worker } from './queue.mjs'

/** Upper bound of GET /slow, so a typo cannot hold a connection for hours. */
export const MAX_SLOW_MS = 60_000

/** Time between two events of GET /events. */
export const EVENT_INTERVAL_MS = 200

/**
 * @typedef {{
 *   onCleanup(name: string, fn: (signal: AbortSignal) => unknown, opts?: { timeoutMs?: number, afterPersist?: boolean }): unknown,
 *   onPersist(name: string, fn: (signal: AbortSignal) => unknown, opts?: { timeoutMs?: number }): unknown,
 *   track(task: (signal: AbortSignal) => PromiseLike<unknown>): unknown,
 *   startup(name: string, task: (signal: AbortSignal) => PromiseLike<unknown>): unknown,
 *   check(name: string, fn: (signal: AbortSignal) => unknown): unknown,
 *   readonly state: string
 * }} Coordinator the part of the graceful-core coordinator this module uses
 * @typedef {{ info(obj: object, msg?: string): void, warn(obj: object, msg?: string): void, error(obj: object, msg?: string): void }} Log
 */

/**
 * Opens the store, restores the previous run's state, starts the worker and registers the hooks.
 * @param {{ graceful: Coordinator, config: { dbPath: string, jobMs: number, slowMs: number, startupMs: number }, log: Log }} options
 */
export function createService ({ graceful, config, log }) {
  const store = new Store(config.dbPath)
  // Registered first, so among the after-persist cleanups it is the very last to run.
  graceful.onCleanup('sqlite', () => store.close(), { afterPersist: true })
  // A damaged database file fails the start (logged by name, exit 1), not the first request.
  graceful.startup('sqlite', async () => store.verify())
  // Readiness while running: /ready answers 503 when the database stops answering (and
  // graceful_check_duration on /metrics shows how long it takes to).
  graceful.check('sqlite', () => store.ping())

  const restored = store.loadState()
  const counters = { ...restored.counters, boots: restored.counters.boots + 1 }
  const boot = {
    number: counters.boots,
    restoredPending: restored.pending.map(j => j.id),
    restoredCounters: restored.counters,
    lastShutdown: restored.lastShutdown
  }
  log.info({
    event: 'state-restored',
    boot: boot.number,
    pending: boot.restoredPending.length,
    counters: restored.counters,
    lastShutdown: restored.lastShutdown
  }, 'state restored from the database')

  const queue = new JobQueue(restored.pending)
  const worker = new Worker({
    queue,
    log,
    async process (job) {
      await sleep(config.jobMs) // the "work"
      store.recordFinished(job)
      counters.jobsFinished++
    }
  })
  // Jobs can be queued at once; the worker starts once the queue is warmed up. A shutdown during
  // the warm-up aborts it, and the queued jobs are persisted for the next start.
  graceful.startup('job-queue', async signal => {
    if (config.startupMs > 0) await sleep(config.startupMs, undefined, { signal })
    graceful.track(s => worker.run(s))
  })

  // Before persistence: no job can be added after the snapshot below is taken.
  graceful.onCleanup('job-queue', () => queue.close())

  graceful.onPersist('service-state', () => {
    // A job still in hand here means the drain deadline cut the worker: keep it in the snapshot,
    // so it runs again at the next start unless it got recorded as finished (at least once).
    const pending = worker.current ? [worker.current, ...queue.snapshot()] : queue.snapshot()
    store.saveState({ counters, pending, boot: counters.boots })
    log.info({ event: 'state-persisted', pending: pending.length, counters }, 'state persisted')
  })

  const streams = { open: 0, opened: 0 }

  return {
    store,
    queue,
    worker,
    counters,
    boot,

    /** Counts one served request of a real route (probes are not counted). */
    countRequest () {
      counters.requests++
    },

    /** @param {unknown} payload */
    enqueue (payload) {
      const job = queue.enqueue(payload)
      counters.jobsEnqueued++
      return { id: job.id, pending: queue.length }
    },

    /**
     * Waits, then answers: a request that is in flight when the shutdown starts.
     * @param {unknown} rawMs
     */
    async slow (rawMs) {
      const n = Number(rawMs)
      const ms = rawMs === undefined || rawMs === '' || !Number.isFinite(n) ? config.slowMs : Math.min(Math.max(0, n), MAX_SLOW_MS)
      const started = Date.now()
      await sleep(ms)
      return { sleptMs: Date.now() - started }
    },

    /**
     * Streams server-sent events on the raw response, one every EVENT_INTERVAL_MS, until the client
     * goes or the drain ends the stream. Event ids go on from the client's `Last-Event-ID`, so a
     * client that reconnects to another instance resumes where it was.
     * @param {import('node:http').IncomingMessage} req
     * @param {import('node:http').ServerResponse} res
     */
    events (req, res) {
      const lastId = Number(req.headers['last-event-id'])
      let id = Number.isSafeInteger(lastId) && lastId >= 0 ? lastId : 0
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
      streams.open++
      streams.opened++
      const send = () => {
        if (res.writableEnded) return // ended by the drain; 'close' follows
        id++
        res.write(`id: ${id}\ndata: ${JSON.stringify({ boot: boot.number, jobsFinished: counters.jobsFinished })}\n\n`)
      }
      send()
      const timer = setInterval(send, EVENT_INTERVAL_MS)
      res.once('close', () => {
        clearInterval(timer)
        streams.open--
      })
    },

    stats () {
      return {
        state: graceful.state,
        boot,
        counters: { ...counters },
        queue: { pending: queue.length, inHand: worker.current?.id ?? null, closed: queue.closed },
        worker: { running: worker.running, finishedThisRun: worker.finished },
        eventStreams: { ...streams }
      }
    }
  }
}
