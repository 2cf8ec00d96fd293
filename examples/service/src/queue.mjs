/**
 * An in-process job queue and its worker.
 *
 * The worker is a loop started with `graceful.track(signal => worker.run(signal))`:
 * - while `signal` is not aborted it takes the next job, or waits for one;
 * - when `signal` aborts (shutdown began) it takes no new job, FINISHES the job in hand, and
 *   returns — the rest stays in the queue, which the persist hook writes to the database.
 * The job in hand is never cut: its result is written as it completes.
 * @module
 */

import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'

/** @typedef {import('./store.mjs').Job} Job */

export class QueueClosedError extends Error {
  constructor () {
    super('the job queue is closed: the service is shutting down')
    this.name = 'QueueClosedError'
  }
}

export class JobQueue {
  /** @param {Job[]} [initial] jobs restored from the previous run */
  constructor (initial = []) {
    /** @type {Job[]} */
    this.jobs = [...initial]
    this.closed = false
    /** @type {Set<() => void>} */
    this.waiters = new Set()
  }

  get length () {
    return this.jobs.length
  }

  /**
   * Adds a job at the end.
   * @param {unknown} payload
   * @returns {Job}
   */
  enqueue (payload) {
    if (this.closed) throw new QueueClosedError()
    const job = { id: randomUUID(), payload: payload ?? null, enqueuedAt: new Date().toISOString() }
    this.jobs.push(job)
    this.wake()
    return job
  }

  /** @returns {Job | undefined} the next job, removed from the queue */
  take () {
    return this.jobs.shift()
  }

  /** Puts a job back at the front (its processing failed). @param {Job} job */
  putBack (job) {
    this.jobs.unshift(job)
  }

  /** @returns {Job[]} a copy of the jobs still queued, in order */
  snapshot () {
    return this.jobs.map(j => ({ ...j }))
  }

  /** Refuses further jobs, so a snapshot taken afterwards stays the final one. */
  close () {
    this.closed = true
    this.wake()
  }

  /**
   * Resolves when a job is enqueued, the queue is closed or `signal` aborts.
   * @param {AbortSignal} signal
   * @returns {Promise<void>}
   */
  waitForJob (signal) {
    if (this.jobs.length > 0 || this.closed || signal.aborted) return Promise.resolve()
    return new Promise(resolve => {
      const done = () => {
        this.waiters.delete(done)
        signal.removeEventListener('abort', done)
        resolve()
      }
      this.waiters.add(done)
      signal.addEventListener('abort', done, { once: true })
    })
  }

  /** @private */
  wake () {
    for (const waiter of [...this.waiters]) waiter()
  }
}

export class Worker {
  /**
   * @param {{
   *   queue: JobQueue,
   *   process: (job: Job) => Promise<void>,
   *   log: { info(obj: object, msg?: string): void, error(obj: object, msg?: string): void },
   *   retryDelayMs?: number
   * }} options
   */
  constructor ({ queue, process, log, retryDelayMs = 100 }) {
    this.queue = queue
    this.process = process
    this.log = log
    this.retryDelayMs = retryDelayMs
    /** @type {Job | null} the job in hand */
    this.current = null
    this.finished = 0
    this.running = false
  }

  /**
   * The worker loop. Returns once `signal` aborted and the job in hand is finished.
   * @param {AbortSignal} signal
   */
  async run (signal) {
    this.running = true
    try {
      while (!signal.aborted) {
        const job = this.queue.take()
        if (job === undefined) {
          if (this.queue.closed) break
          await this.queue.waitForJob(signal)
          continue
        }
        this.current = job
        try {
          // Deliberately not given `signal`: a job that started is finished, not abandoned.
          await this.process(job)
          this.finished++
        } catch (err) {
          this.log.error({ err, job: job.id }, 'job failed; put back in the queue')
          this.queue.putBack(job)
          await sleep(this.retryDelayMs)
        } finally {
          this.current = null
        }
      }
      this.log.info({ left: this.queue.length, finished: this.finished }, 'worker stopped; remaining jobs stay queued')
    } finally {
      this.running = false
    }
  }
}
