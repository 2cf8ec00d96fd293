import { raceTimeout } from './timing.js'
import { validateRegistration } from './validate.js'
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
  /** Holds of doors still setting up (hold()). */
  #holds = 0
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
  /** A door's framework is still setting up: it may register more (NestJS 12 registers hooks after the setup tick). */
  get held (): boolean {
    return this.#holds > 0
  }

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
    const rule = { method: 'startup', keys: ['timeoutMs'], taken: this.#tasks.map((e) => e.name), among: 'startup tasks', promise: true, form: 'a Promise or a function (signal) => Promise' }
    const { name: checked, timeoutMs } = validateRegistration(rule, name, task, options)
    this.#start(checked, task as StartupTask, timeoutMs)
  }

  #start (name: string, task: StartupTask, timeoutMs: number | undefined): void {
    const remaining = Math.max(0, this.#deadline - performance.now())
    const entry: Entry = { name, startedAt: performance.now(), outcome: undefined, durationMs: 0 }
    this.#tasks.push(entry)
    this.#pending++
    const limit = Math.min(timeoutMs ?? remaining, remaining)
    const run = (signal: AbortSignal): unknown => typeof task === 'function' ? task(signal) : task
    void raceTimeout(run, limit, this.#controller.signal, `startup task ${name} timed out`).then((raced) => {
      // 'cut': shutdown began, and abort() has settled the task as aborted.
      if (raced.outcome === 'aborted' || !this.#settle(entry, raced.outcome)) return
      if (raced.outcome === 'ok') return this.#maybeReady()
      if (raced.outcome === 'error') this.#logger.error({ startupTask: name, err: raced.error }, `startup task ${name} failed`)
      else this.#logger.error({ startupTask: name, timeoutMs: Math.round(limit) }, `startup task ${name} timed out`)
      this.#fail(`startup task ${name} ${raced.outcome === 'timeout' ? 'timed out' : 'failed'}`)
    })
  }

  /**
   * Holds the gate until the returned release is called (once), without a timeout: for a door
   * whose framework adds its server later than the setup tick (NestJS 12 awaits imports between
   * creating its providers and configuring the HTTP server).
   */
  hold (): () => void {
    if (!this.open) return () => {}
    this.#pending++
    this.#holds++
    let held = true
    return () => {
      if (!held) return
      held = false
      this.#pending--
      this.#holds--
      this.#maybeReady()
    }
  }

  /** Waits for this server to listen before the instance is ready. */
  watch (server: ListeningServer): void {
    if (!this.open || server.listening || this.#servers.has(server)) return
    // Once it listens there is nothing left to wait for.
    const onListening = (): void => { this.unwatch(server) }
    this.#servers.set(server, onListening)
    server.once('listening', onListening)
  }

  /** Stops waiting for this server: it listens, or a framework made it and the application serves through servers of its own. */
  unwatch (server: ListeningServer): void {
    const onListening = this.#servers.get(server)
    if (onListening === undefined) return
    server.off('listening', onListening)
    this.#servers.delete(server)
    this.#maybeReady()
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
  }
}
