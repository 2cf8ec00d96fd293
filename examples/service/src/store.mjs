/**
 * The service's SQLite store (better-sqlite3, synchronous).
 *
 * Tables:
 * - `counters`      — name → integer; the in-memory counters, written at shutdown.
 * - `pending_jobs`  — the queue as it was when the service stopped, in order.
 * - `finished_jobs` — one row per job the worker completed, written as each job finishes.
 * - `shutdowns`     — one row per persisted shutdown (when, how many jobs were left).
 *
 * `saveState()` replaces counters and the pending queue in ONE transaction: a reader (the next
 * start) sees either the previous snapshot or the new one, never half of each.
 * @module
 */

import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_jobs (
  position    INTEGER PRIMARY KEY,
  id          TEXT NOT NULL UNIQUE,
  payload     TEXT NOT NULL,
  enqueued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS finished_jobs (
  id          TEXT PRIMARY KEY,
  payload     TEXT NOT NULL,
  enqueued_at TEXT NOT NULL,
  finished_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS shutdowns (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  persisted_at TEXT NOT NULL,
  boot         INTEGER NOT NULL,
  pending      INTEGER NOT NULL,
  finished     INTEGER NOT NULL
);
`

/**
 * @typedef {{ id: string, payload: unknown, enqueuedAt: string }} Job
 * @typedef {{ boots: number, requests: number, jobsEnqueued: number, jobsFinished: number }} Counters
 * @typedef {{ persistedAt: string, boot: number, pending: number, finished: number }} ShutdownRecord
 * @typedef {{ counters: Counters, pending: Job[], lastShutdown: ShutdownRecord | null }} PersistedState
 */

/** @returns {Counters} */
export function emptyCounters () {
  return { boots: 0, requests: 0, jobsEnqueued: 0, jobsFinished: 0 }
}

export class Store {
  /**
   * Opens (and creates) the database file.
   * @param {string} path a file path, or ':memory:'
   * @param {{ readonly?: boolean }} [options]
   */
  constructor (path, options = {}) {
    const readonly = options.readonly === true
    if (path !== ':memory:' && !readonly) mkdirSync(dirname(path), { recursive: true })
    this.path = path
    this.db = new Database(path, { readonly, fileMustExist: readonly })
    if (!readonly) {
      this.db.pragma('journal_mode = WAL')
      this.db.exec(SCHEMA)
    }
    this.db.pragma('busy_timeout = 2000')

    this.insertFinished = readonly
      ? null
      : this.db.prepare(`INSERT OR REPLACE INTO finished_jobs (id, payload, enqueued_at, finished_at)
                         VALUES (@id, @payload, @enqueuedAt, @finishedAt)`)

    /** Replaces the persisted snapshot atomically. */
    this.saveTx = readonly
      ? null
      : this.db.transaction((/** @type {{ counters: Counters, pending: Job[], boot: number }} */ s) => {
        const upsert = this.db.prepare(`INSERT INTO counters (name, value) VALUES (?, ?)
                                        ON CONFLICT(name) DO UPDATE SET value = excluded.value`)
        for (const [name, value] of Object.entries(s.counters)) upsert.run(name, value)
        this.db.prepare('DELETE FROM pending_jobs').run()
        const insert = this.db.prepare(`INSERT INTO pending_jobs (position, id, payload, enqueued_at)
                                        VALUES (?, ?, ?, ?)`)
        s.pending.forEach((job, i) => insert.run(i, job.id, JSON.stringify(job.payload ?? null), job.enqueuedAt))
        this.db.prepare(`INSERT INTO shutdowns (persisted_at, boot, pending, finished)
                         VALUES (?, ?, ?, ?)`)
          .run(new Date().toISOString(), s.boot, s.pending.length, s.counters.jobsFinished)
      })
  }

  /** A cheap round trip to the database (the readiness check): throws when it is closed or broken. */
  ping () {
    this.db.prepare('SELECT 1').get()
  }

  /** Throws unless SQLite's quick integrity check passes. */
  verify () {
    const result = this.db.pragma('quick_check', { simple: true })
    if (result !== 'ok') throw new Error(`database ${this.path} failed its integrity check: ${result}`)
  }

  /**
   * Reads what the previous run persisted. Jobs that are already in `finished_jobs` are skipped,
   * so a snapshot re-read after a crash never runs a finished job twice.
   * @returns {PersistedState}
   */
  loadState () {
    const counters = emptyCounters()
    for (const row of /** @type {{ name: string, value: number }[]} */ (this.db.prepare('SELECT name, value FROM counters').all())) {
      if (row.name in counters) counters[/** @type {keyof Counters} */ (row.name)] = row.value
    }
    const rows = /** @type {{ id: string, payload: string, enqueued_at: string }[]} */ (this.db.prepare(
      `SELECT id, payload, enqueued_at FROM pending_jobs
       WHERE id NOT IN (SELECT id FROM finished_jobs) ORDER BY position`).all())
    const pending = rows.map(r => ({ id: r.id, payload: JSON.parse(r.payload), enqueuedAt: r.enqueued_at }))
    const last = /** @type {{ persisted_at: string, boot: number, pending: number, finished: number } | undefined} */ (
      this.db.prepare('SELECT persisted_at, boot, pending, finished FROM shutdowns ORDER BY id DESC LIMIT 1').get())
    const lastShutdown = last
      ? { persistedAt: last.persisted_at, boot: last.boot, pending: last.pending, finished: last.finished }
      : null
    return { counters, pending, lastShutdown }
  }

  /**
   * Writes counters and the unfinished queue in one transaction.
   * @param {{ counters: Counters, pending: Job[], boot: number }} snapshot
   */
  saveState (snapshot) {
    if (!this.saveTx) throw new Error('store is read-only')
    this.saveTx(snapshot)
  }

  /**
   * Records a job the worker completed.
   * @param {Job} job
   */
  recordFinished (job) {
    if (!this.insertFinished) throw new Error('store is read-only')
    this.insertFinished.run({
      id: job.id,
      payload: JSON.stringify(job.payload ?? null),
      enqueuedAt: job.enqueuedAt,
      finishedAt: new Date().toISOString()
    })
  }

  /** @returns {string[]} ids of finished jobs, oldest first */
  finishedIds () {
    return this.db.prepare('SELECT id FROM finished_jobs ORDER BY finished_at, rowid').pluck().all().map(String)
  }

  /** @returns {string[]} ids in the persisted queue snapshot, in order */
  pendingIds () {
    return this.db.prepare('SELECT id FROM pending_jobs ORDER BY position').pluck().all().map(String)
  }

  get open () {
    return this.db.open
  }

  /** Closes the connection (checkpoints the WAL). Safe to call twice. */
  close () {
    if (this.db.open) this.db.close()
  }
}
