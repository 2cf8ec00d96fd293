/**
 * A node:cluster primary that restarts its workers without dropping a request. The primary owns
 * the listening socket and hands connections to the workers that listen, so a worker that closes
 * its server stops getting new ones at once: what matters is the order of things.
 *
 * - start: forks `workers` workers;
 * - `reloadSignal` (SIGHUP) or `reload()`: replaces the workers one at a time. A new worker is forked
 *   and, only once it reported ready (`process.send('ready')`, which graceful sends once it is
 *   running), the old one gets SIGTERM and drains; the next follows once it exited;
 * - SIGTERM or SIGINT: forwarded to every worker (node:cluster does not), then the primary exits with
 *   the worst exit code once all are gone; workers still alive 2 s after `gracePeriodMs` are SIGKILLed;
 * - a worker that exits unasked is replaced (after a second when it died before it was ready, so a
 *   worker that cannot start does not spin).
 * @module
 */
import cluster, { type Worker } from 'node:cluster'
import { EventEmitter } from 'node:events'
import { constants } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { exitProcess, flushLogger } from '../exit.js'
import { raceTimeout } from '../timing.js'
import { GracefulStateError } from '../errors.js'
import { EXIT_HEADROOM_MS } from '../budget.js'
import { READY_MESSAGE } from '../platform/process-manager.js'
import { type ClusterPrimaryOptions, type ResolvedPrimaryOptions, resolvePrimaryOptions } from './primary-options.js'

export type { ClusterPrimaryOptions } from './primary-options.js'

/** A worker that died before it was ready is replaced after this long. */
const CRASH_LOOP_DELAY_MS = 1000

export interface ReloadResult {
  /** `'failed'`: a new worker exited or did not report ready in time; the old one kept serving. */
  outcome: 'ok' | 'failed' | 'stopped'
  /** Workers replaced. */
  replaced: number
}

export interface ClusterPrimaryEvents {
  /** A worker reported ready. */
  'worker-ready': [Worker]
  /** A worker exited: its exit code (128 + signal number when a signal ended it), and whether the primary asked it to. */
  'worker-exit': [Worker, number, boolean]
  /** A reload ended. */
  reload: [ReloadResult]
}

interface Entry {
  ready: boolean
  /** The primary asked it to stop (reload or shutdown): its exit is not a crash. */
  stopping: boolean
  /** Resolves true once the worker reported ready, false once it exited first. */
  readonly readyOrExited: Promise<boolean>
  readonly exited: Promise<number>
}

export class ClusterPrimary extends EventEmitter<ClusterPrimaryEvents> {
  readonly #options: ResolvedPrimaryOptions
  readonly #entries = new Map<Worker, Entry>()
  readonly #stopping = new AbortController()
  #reloading: Promise<ReloadResult> | undefined
  #reloadAgain = false
  #worstExit = 0
  readonly #removeListeners: () => void

  constructor (options?: ClusterPrimaryOptions) {
    super()
    this.#options = resolvePrimaryOptions(options)
    if (!cluster.isPrimary) throw new GracefulStateError('clusterPrimary() was called in a worker; call it where cluster.isPrimary is true')
    const onStop = (signal: NodeJS.Signals): void => { this.#shutdown(signal) }
    const onReload = (): void => { void this.reload() }
    const { reloadSignal } = this.#options
    process.on('SIGTERM', onStop)
    process.on('SIGINT', onStop)
    if (reloadSignal) process.on(reloadSignal, onReload)
    this.#removeListeners = () => {
      process.off('SIGTERM', onStop)
      process.off('SIGINT', onStop)
      if (reloadSignal) process.off(reloadSignal, onReload)
    }
    for (let i = 0; i < this.#options.workers; i++) this.#fork()
    this.#options.logger.info({ workers: this.#options.workers, pid: process.pid, reloadSignal }, 'cluster primary started')
  }

  /** The live workers, those draining included. */
  get workers (): Worker[] {
    return [...this.#entries.keys()]
  }

  /**
   * Replaces every worker, one at a time, each old one told to drain only once its replacement
   * reported ready. A reload asked for while one runs runs once more after it.
   */
  reload (): Promise<ReloadResult> {
    if (this.#reloading) {
      this.#reloadAgain = true
      return this.#reloading
    }
    const run = async (): Promise<ReloadResult> => {
      let result: ReloadResult
      do {
        this.#reloadAgain = false
        result = await this.#replaceAll()
        this.emit('reload', result)
      } while (this.#reloadAgain && result.outcome === 'ok')
      return result
    }
    this.#reloading = run().finally(() => { this.#reloading = undefined })
    return this.#reloading
  }

  async #replaceAll (): Promise<ReloadResult> {
    const { logger } = this.#options
    const olds = [...this.#entries].filter(([, e]) => !e.stopping).map(([w]) => w)
    logger.info({ workers: olds.length }, 'reload started: replacing workers one at a time')
    let replaced = 0
    for (const old of olds) {
      if (this.#stopping.signal.aborted) return { outcome: 'stopped', replaced }
      const fresh = this.#fork()
      const ready = await this.#readyOrGone(fresh)
      if (this.#stopping.signal.aborted) return { outcome: 'stopped', replaced }
      if (!ready) {
        logger.error({ worker: fresh.process.pid, readyTimeoutMs: this.#options.readyTimeoutMs },
          'reload stopped: the new worker exited or did not report ready (process.send(\'ready\')) in time; the old workers keep serving')
        await this.#stop(fresh, 'SIGTERM')
        return { outcome: 'failed', replaced }
      }
      // The replacement serves: only now is the old worker told to drain.
      await this.#stop(old, 'SIGTERM')
      replaced++
    }
    logger.info({ replaced, workers: this.workers.map((w) => w.process.pid) }, 'reload complete')
    return { outcome: 'ok', replaced }
  }

  #fork (): Worker {
    const worker = cluster.fork()
    let resolveExit!: (code: number) => void
    let resolveReady!: (ready: boolean) => void
    const exited = new Promise<number>((resolve) => { resolveExit = resolve })
    const readyOrExited = new Promise<boolean>((resolve) => { resolveReady = resolve })
    void exited.then(() => { resolveReady(false) })
    const entry: Entry = { ready: false, stopping: false, readyOrExited, exited }
    this.#entries.set(worker, entry)
    worker.on('message', (message: unknown) => {
      if (message !== READY_MESSAGE || entry.ready) return
      entry.ready = true
      resolveReady(true)
      this.emit('worker-ready', worker)
    })
    worker.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      const exitCode = code ?? 128 + ((signal && (constants.signals as Record<string, number>)[signal]) || 0)
      this.#entries.delete(worker)
      resolveExit(exitCode)
      this.emit('worker-exit', worker, exitCode, entry.stopping)
      this.#onExit(worker, entry, exitCode)
    })
    return worker
  }

  #onExit (worker: Worker, entry: Entry, exitCode: number): void {
    const { logger } = this.#options
    if (this.#stopping.signal.aborted) {
      this.#worstExit = Math.max(this.#worstExit, exitCode)
      if (this.#entries.size === 0) this.#exit()
      return
    }
    if (entry.stopping) return
    // Unasked: a crash. Replace it unless a reload already brings the count back.
    const serving = [...this.#entries.values()].filter((e) => !e.stopping).length
    logger.error({ worker: worker.process.pid, exitCode, ready: entry.ready }, serving < this.#options.workers ? 'worker exited unexpectedly; starting a replacement' : 'worker exited unexpectedly')
    if (serving >= this.#options.workers) return
    const delay = entry.ready ? 0 : CRASH_LOOP_DELAY_MS
    void sleep(delay, undefined, { signal: this.#stopping.signal }).then(() => { this.#fork() }, () => {})
  }

  /** True once the worker reported ready; false when it exited first, timed out, or shutdown began. */
  async #readyOrGone (worker: Worker): Promise<boolean> {
    const entry = this.#entries.get(worker)
    if (entry === undefined) return false
    const raced = await raceTimeout(() => entry.readyOrExited, this.#options.readyTimeoutMs, this.#stopping.signal)
    return raced.outcome === 'ok' && raced.value
  }

  /** Sends `signal` and waits for the exit, SIGKILLing the worker at the deadline. */
  async #stop (worker: Worker, signal: NodeJS.Signals): Promise<void> {
    const entry = this.#entries.get(worker)
    if (entry === undefined) return
    entry.stopping = true
    worker.process.kill(signal)
    const timer = setTimeout(() => { worker.process.kill('SIGKILL') }, this.#deadlineMs())
    await entry.exited
    clearTimeout(timer)
  }

  #deadlineMs (): number {
    return this.#options.gracePeriodMs + EXIT_HEADROOM_MS
  }

  /** Forwards the signal to every worker; the first one starts the shutdown, a later one reaches the workers as their second (forcing) signal. */
  #shutdown (signal: NodeJS.Signals): void {
    const first = !this.#stopping.signal.aborted
    if (first) {
      this.#stopping.abort()
      this.#options.logger.info({ signal, workers: this.#entries.size }, 'cluster primary stopping: signal forwarded to every worker')
      setTimeout(() => {
        for (const worker of this.#entries.keys()) worker.process.kill('SIGKILL')
      }, this.#deadlineMs()).unref()
    }
    for (const [worker, entry] of this.#entries) {
      entry.stopping = true
      worker.process.kill(signal)
    }
    if (this.#entries.size === 0) this.#exit()
  }

  #exit (): void {
    this.#removeListeners()
    const { logger } = this.#options
    const code = Math.min(this.#worstExit, 255)
    const log = code === 0 ? logger.info.bind(logger) : logger.error.bind(logger)
    log({ exitCode: code }, 'cluster primary stopped: every worker exited')
    // The last line is flushed first, as the coordinator does at its own exit.
    void flushLogger(logger).then(() => { exitProcess(code) })
  }
}

/**
 * Runs this process as a node:cluster primary with zero-downtime reloads (see ClusterPrimary).
 * Options are validated at once; a bad one throws naming itself.
 */
export function clusterPrimary (options?: ClusterPrimaryOptions): ClusterPrimary {
  return new ClusterPrimary(options)
}
