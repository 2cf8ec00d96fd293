import { invalid } from './errors.js'
import { checkDuration } from './options.js'
import type { Logger, StartupReport, StartupTask, StartupTaskReport } from './types.js'

/** The part of a server the gate watches: whether it listens yet. */
export interface ListeningServer {
  readonly listening: boolean
  once (event: 'listening', listener: () => void): unknown
  off (event: 'listening', listener: () => void): unknown
}

interface Entry {
  readonly name: string
  readonly startedAt: number
  outcome: StartupTaskReport['outcome'] | undefined
  durationMs: number
  timer: NodeJS.Timeout | undefined
}

/**
 * Holds the instance in `starting` until it can serve: a macrotask has passed since creation (so
 * registrations made synchronously during setup count), every startup task resolved, and every
 * added server listens. Then `onReady` is called once. A task that rejects or outlives its timeout
 * calls `onFailure` with a reason naming it; `abort()` (shutdown began) aborts the tasks' signal.
 */
export class StartupGate {
  readonly #logger: Logger
  readonly #deadline: number
  readonly #t0 = performance.now()
  readonly #controller = new AbortController()
  readonly #tasks: Entry[] = []
  readonly #servers = new Map<ListeningServer, () => void>()
  readonly #onReady: (durationMs: number) => void
  readonly #onFailure: (reason: string) => void
  #pending = 0
  #setupDone = false
  #immediate: NodeJS.Immediate | undefined
  #endedAt: number | undefined
  #ready = false
  #failed = false

  constructor (startupTimeoutMs: number, logger: Logger, onReady: (durationMs: number) => void, onFailure: (reason: string) => void) {
    this.#logger = logger
    this.#deadline = this.#t0 + startupTimeoutMs
    this.#onReady = onReady
    this.#onFailure = onFailure
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined
      this.#setupDone = true
      this.#maybeReady()
    })
  }

  /** True while the gate still waits (neither ready nor aborted). */
  get open (): boolean {
    return this.#endedAt === undefined
  }

  /** True when a task failed or timed out: the run that follows must exit non-zero. */
  get failed (): boolean {
    return this.#failed
  }

  /**
   * Validates and starts a task; its timeout defaults to what remains of startupTimeoutMs and never
   * exceeds it.
   */
  add (name: unknown, task: unknown, options: unknown): void {
    if (typeof name !== 'string' || name.trim() === '') throw invalid('startup(name)', 'a non-empty string', name)
    if (typeof task !== 'function' && !isThenable(task)) throw invalid(`startup('${name}', task)`, 'a Promise or a function (signal) => Promise', task)
    if (typeof options !== 'object' || options === null) throw invalid(`startup('${name}') options`, 'an object', options)
    for (const key of Object.keys(options)) {
      if (key !== 'timeoutMs') throw invalid(`startup('${name}') options.${key}`, 'timeoutMs (unknown option)', key)
    }
    const raw = (options as { timeoutMs?: unknown }).timeoutMs
    const timeoutMs = raw === undefined ? undefined : checkDuration(`startup('${name}') options.timeoutMs`, raw, { positive: true })
    if (this.#tasks.some((e) => e.name === name)) throw invalid('startup(name)', 'unique among startup tasks', name)
    this.#start(name, task as StartupTask, timeoutMs)
  }

  #start (name: string, task: StartupTask, timeoutMs: number | undefined): void {
    const remaining = Math.max(0, this.#deadline - performance.now())
    const entry: Entry = { name, startedAt: performance.now(), outcome: undefined, durationMs: 0, timer: undefined }
    this.#tasks.push(entry)
    this.#pending++
    const limit = Math.min(timeoutMs ?? remaining, remaining)
    entry.timer = setTimeout(() => {
      this.#settle(entry, 'timeout')
      this.#logger.error({ startupTask: name, timeoutMs: Math.round(limit) }, `startup task ${name} timed out`)
      this.#fail(`startup task ${name} timed out`)
    }, limit)
    const signal = this.#controller.signal
    // A function task starts at once; a synchronous throw becomes a rejection.
    new Promise((resolve) => { resolve(typeof task === 'function' ? task(signal) : task) }).then(() => {
      this.#settle(entry, 'ok')
      this.#maybeReady()
    }, (error: unknown) => {
      if (!this.#settle(entry, 'error')) return
      this.#logger.error({ startupTask: name, err: error }, `startup task ${name} failed`)
      this.#fail(`startup task ${name} failed`)
    })
  }

  /** Waits for this server to listen before the instance is ready. */
  watch (server: ListeningServer): void {
    if (!this.open || server.listening || this.#servers.has(server)) return
    const onListening = (): void => {
      this.#servers.delete(server)
      this.#maybeReady()
    }
    this.#servers.set(server, onListening)
    server.once('listening', onListening)
  }

  /** Shutdown began: tasks still running see their signal abort and are reported as aborted. */
  abort (reason: unknown): void {
    if (!this.open) return
    this.#end()
    this.#controller.abort(reason)
    for (const entry of this.#tasks) this.#settle(entry, 'aborted')
  }

  report (): StartupReport {
    const end = this.#endedAt ?? performance.now()
    return {
      ready: this.#ready,
      durationMs: Math.round(end - this.#t0),
      tasks: this.#tasks.map((e) => ({ name: e.name, outcome: e.outcome ?? 'aborted', durationMs: Math.round(e.durationMs) }))
    }
  }

  /** Records a task's first outcome; false when it had one already (a late settle after a timeout or abort). */
  #settle (entry: Entry, outcome: StartupTaskReport['outcome']): boolean {
    if (entry.outcome !== undefined) return false
    entry.outcome = outcome
    entry.durationMs = performance.now() - entry.startedAt
    clearTimeout(entry.timer)
    this.#pending--
    return true
  }

  #fail (reason: string): void {
    if (!this.open) return
    this.#failed = true
    this.#onFailure(reason)
  }

  #maybeReady (): void {
    if (!this.open || !this.#setupDone || this.#pending > 0 || this.#servers.size > 0) return
    this.#end()
    this.#ready = true
    const durationMs = Math.round(this.#endedAt! - this.#t0)
    this.#logger.info({ startupMs: durationMs, startupTasks: this.#tasks.length }, 'ready')
    this.#onReady(durationMs)
  }

  /** Stops waiting: no timer or listener outlives the gate. */
  #end (): void {
    this.#endedAt = performance.now()
    if (this.#immediate !== undefined) clearImmediate(this.#immediate)
    for (const [server, onListening] of this.#servers) server.off('listening', onListening)
    this.#servers.clear()
    for (const entry of this.#tasks) clearTimeout(entry.timer)
  }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function'
}
