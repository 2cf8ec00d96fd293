import { EventEmitter } from 'node:events'
import http from 'node:http'
import https from 'node:https'
import { Server as NetServer } from 'node:net'
import { constants } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { CheckSet } from './checks.js'
import { closeListeners } from './drain/listener-close.js'
import { type DrainableServer, ServerDrainer } from './drain/server-drainer.js'
import { checkWebSocketServer, WebSocketCloser, type WebSocketServerLike } from './drain/websockets.js'
import { GracefulStateError, invalid } from './errors.js'
import { type RegisteredHook, runHook } from './hooks.js'
import { checkDuration, type ResolvedOptions, resolveOptions } from './options.js'
import { errorInfo, summaryLine } from './report.js'
import { foreignSignalListeners, onProcessFault, onSignals } from './process-events.js'
import { PreStopWindow } from './pre-stop.js'
import { attachProcessManager } from './platform/process-manager.js'
import { pathOf, type ProbeAnswer, probeAnswer, type ProbeKind } from './probes.js'
import { StartupGate } from './startup.js'
import { readinessOf } from './states.js'
import { TaskSet } from './tasks.js'
import { settledBefore } from './timing.js'
import type {
  CheckFn, CheckOptions, CleanupOptions, ErrorInfo, GracefulOptions, Hook, HookOptions, HookReport, Logger, Readiness,
  ShutdownReport, StartupOptions, StartupTask, State, Task
} from './types.js'

/**
 * Copies of one signal that arrive this close together are one event (a process group and a
 * supervisor both delivering it), not a user asking to force.
 */
const DUPLICATE_SIGNAL_WINDOW_MS = 100
/** The longest the exit waits for the logger to flush. */
const LOGGER_FLUSH_TIMEOUT_MS = 1000
/** The longest the drain waits for the listeners' accept queues to empty before closing them. */
const LISTENER_SETTLE_MAX_MS = 1000
/** Kubernetes needs a moment after our exit; a kill deadline this close to gracePeriodMs is a warning. */
const TERMINATION_HEADROOM_MS = 2000

interface CleanupHook extends RegisteredHook {
  readonly afterPersist: boolean
  /** False for an adapter's own framework close: it takes no share of gracePeriodMs (see kFrameworkCleanup). */
  readonly budgeted: boolean
}

/** Lets a door hand over a request whose server may not be added yet (see Graceful[kAdoptRequest]). */
export const kAdoptRequest = Symbol('graceful.adoptRequest')
/** Lets an adapter register its framework's own close (see Graceful[kFrameworkCleanup]). */
export const kFrameworkCleanup = Symbol('graceful.frameworkCleanup')
/** Lets an adapter log through the coordinator's logger (the resolved one: never undefined). */
export const kLogger = Symbol('graceful.logger')

/** The parts of a node:http (or http2 compatibility) request and response a probe needs. */
export interface ProbeRequest { readonly method?: string | undefined, readonly url?: string | undefined }
export interface ProbeResponse {
  readonly headersSent: boolean
  writeHead (statusCode: number, headers?: Record<string, string | number>): unknown
  end (body?: string): unknown
}

export interface GracefulEvents {
  state: [State]
  report: [ShutdownReport]
}

/**
 * The shutdown coordinator. One run of the pipeline, in this order:
 *
 * 1. a signal or `shutdown()`: state `draining`, `signal` aborts, readiness reports draining, every
 *    response from now on carries `Connection: close`;
 * 2. pre-stop: real traffic is still served for `preStopDelayMs` (and, with `preStopQuietMs`, until
 *    traffic stops, at most `preStopMaxMs`);
 * 3. drain: listeners close, idle sockets end at once, busy ones after their response, tracked tasks
 *    are awaited; at the drain deadline what is left is destroyed and counted;
 * 4. cleanup hooks in reverse registration order, each under its timeout;
 * 5. persist hooks in registration order, each under its timeout, with a reserved budget; then the
 *    cleanups registered with `afterPersist`;
 * 6. the report is emitted and logged, the logger flushed, and the process exits (0 when clean).
 *
 * Nothing in the pipeline throws: every failure is an entry of the report. `shutdown()` returns the
 * same promise to every caller. A second signal skips the remaining waits and exits non-zero.
 */
export class Graceful extends EventEmitter<GracefulEvents> {
  readonly #options: ResolvedOptions
  readonly #shutdownController = new AbortController()
  readonly #force = new AbortController()
  readonly #drainController = new AbortController()
  readonly #webSockets = new WebSocketCloser()
  readonly #drainers = new Map<DrainableServer, ServerDrainer>()
  readonly #tasks: TaskSet
  readonly #cleanupHooks: CleanupHook[] = []
  readonly #persistHooks: RegisteredHook[] = []
  readonly #unsubscribeSignals: () => void
  #state: State = 'starting'
  readonly #startup: StartupGate
  readonly #checks: CheckSet
  #run: Promise<ShutdownReport> | undefined
  #signalsSeen = 0
  #firstSignalAt = 0
  readonly #preStop: PreStopWindow
  #budgetWarned = false
  #forcedDuring: State | undefined
  /** Other listeners for the first signal when it arrived (see #onSignal). */
  #foreignAtFirstSignal = 0
  /** Set by a signal: only a signal-started (or signal-joined) run ends the process. */
  #exitWhenStopped = false
  #reason: string | undefined

  constructor (options?: GracefulOptions) {
    super()
    this.#options = resolveOptions(options)
    this.#tasks = new TaskSet(this.#options.logger)
    this.#checks = new CheckSet(this.#options.logger)
    this.#startup = new StartupGate(this.#options.startupTimeoutMs, this.#options.logger, this.#onStarted, this.#onStartupFailure)
    this.#preStop = new PreStopWindow(this.#options, this.#force.signal)
    this.#unsubscribeSignals = onSignals(this.#options.signals, this.#onSignal)
    for (const signal of this.#options.signals) this.#warnOfForeignListeners(signal, 'at start-up')
    this.#checkTerminationBudget()
    attachProcessManager(this, this.#options, (reason) => { this.#onSignal(reason as NodeJS.Signals) })
  }

  /** The current lifecycle state. */
  get state (): State {
    return this.#state
  }

  /** Why the shutdown began: the signal's name (`'SIGTERM'`) or the caller's reason; undefined before. */
  get shutdownReason (): string | undefined {
    return this.#reason
  }

  /** Aborted when shutdown begins: pass it to long-running work so it stops taking new work. */
  get signal (): AbortSignal {
    return this.#shutdownController.signal
  }

  /**
   * Aborted when the drain begins (pre-stop is over, the listener is about to close): the moment to
   * end long-lived work (long polls, streaming responses) so clients reconnect to another instance.
   */
  get drainSignal (): AbortSignal {
    return this.#drainController.signal
  }

  /**
   * Closes a WebSocket server's clients politely when the drain begins: close 1001 "going away",
   * spread over a short jittered window, the handshake awaited; clients still open at the drain
   * deadline are terminated. `wss` is a `ws` WebSocketServer or anything with `clients`.
   */
  addWebSocketServer (wss: WebSocketServerLike): this {
    const server = checkWebSocketServer(wss)
    if (this.#drainController.signal.aborted) throw this.#tooLate('addWebSocketServer()')
    this.#webSockets.add(server)
    return this
  }

  /**
   * What a readiness probe should answer, without running anything: ready only while running and no
   * critical check failed at its last run (`probe('ready')` runs the checks that are due).
   */
  readiness (): Readiness {
    return readinessOf(this.#state, this.#checks.size > 0 ? this.#checks.summary() : undefined)
  }

  /** Where the probe routes live (`healthPath`, `readyPath`), for doors that register them as their framework's routes. */
  get probeRoutes (): Readonly<Record<ProbeKind, string | false>> {
    return { health: this.#options.healthPath, ready: this.#options.readyPath }
  }

  /**
   * What a probe route answers: liveness (`health`) is 200 while the process lives; readiness
   * (`ready`) is 200 only when the instance can take traffic. For frameworks with their own reply
   * objects; `handleProbe()` answers a node:http request directly.
   */
  async probe (kind: ProbeKind): Promise<ProbeAnswer> {
    if (kind !== 'health' && kind !== 'ready') throw invalid('probe(kind)', "'health' or 'ready'", kind)
    // Liveness never depends on a dependency; readiness checks run only while running.
    if (kind === 'health') return probeAnswer(kind, readinessOf(this.#state))
    if (this.#state === 'running' && this.#checks.size > 0) await this.#checks.refresh(this.signal)
    return probeAnswer(kind, this.readiness())
  }

  /** Which probe a request is for: GET or HEAD on `healthPath` or `readyPath` (query strings ignored), else undefined. */
  probeKind (method: string | undefined, url: string | undefined): ProbeKind | undefined {
    if (method !== 'GET' && method !== 'HEAD') return undefined
    const path = pathOf(url)
    return path === this.#options.healthPath ? 'health' : path === this.#options.readyPath ? 'ready' : undefined
  }

  /**
   * Answers GET or HEAD on the probe paths (`healthPath`, `readyPath`; query strings ignored) for
   * any node:http framework, and returns true; returns false for every other request, untouched.
   */
  handleProbe (req: ProbeRequest, res: ProbeResponse): boolean {
    const kind = this.probeKind(req.method, req.url)
    if (kind === undefined) return false
    this.probe(kind).then((answer) => {
      const body = JSON.stringify(answer.body)
      res.writeHead(answer.statusCode, { ...answer.headers, 'content-length': Buffer.byteLength(body) })
      res.end(req.method === 'HEAD' ? undefined : body)
    }).catch((error: unknown) => {
      this.#options.logger.error({ err: error, url: req.url }, 'probe failed to answer')
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
    return true
  }

  /**
   * Tracks a server's connections from now on so shutdown can drain them. Returns the coordinator.
   * Servers can join until the drain begins.
   */
  addServer (server: DrainableServer): this {
    if (!isHttpServer(server)) throw invalid('addServer(server)', 'a node:http, node:https or node:http2 server', server)
    if (this.#drainers.has(server)) return this
    if (this.#drainController.signal.aborted) throw this.#tooLate('addServer()')
    const drainer = new ServerDrainer(server, this.#onRequestSeen, this.#onListenerClosedByOther)
    this.#drainers.set(server, drainer)
    if (this.#state === 'starting') this.#startup.watch(server)
    else if (this.#state !== 'running') drainer.startDraining()
    return this
  }

  /**
   * Registers resource release. Cleanup hooks run after the drain in reverse registration order,
   * each under its timeout; with `afterPersist: true` a hook runs after the persist phase instead,
   * for resources persistence still needs.
   */
  onCleanup (name: string, fn: Hook, options: CleanupOptions = {}): this {
    const hook = this.#checkHook('onCleanup', name, fn, options, this.#cleanupHooks, ['timeoutMs', 'afterPersist'])
    const afterPersist = (options as Record<string, unknown>).afterPersist
    if (afterPersist !== undefined && typeof afterPersist !== 'boolean') {
      throw invalid(`onCleanup('${name}') options.afterPersist`, 'a boolean', afterPersist)
    }
    this.#cleanupHooks.push({ ...hook, afterPersist: afterPersist === true, budgeted: true })
    this.#checkHookBudget()
    return this
  }

  /**
   * For adapters: closes the framework itself (fastify's app.close() and its onClose hooks) as the
   * very last cleanup, after persistence. It reserves no share of gracePeriodMs, so an application
   * drains for the same time whichever adapter it uses; it still runs under hookTimeoutMs.
   */
  [kFrameworkCleanup] (name: string, fn: Hook): void {
    const hook = this.#checkHook('onCleanup', name, fn, {}, this.#cleanupHooks, [])
    this.#cleanupHooks.unshift({ ...hook, afterPersist: true, budgeted: false })
  }

  /**
   * Registers state persistence. Persist hooks run after cleanup in registration order, each under
   * its timeout, and keep their budget even when drain or cleanup overran. They may run again on a
   * later start, so make them idempotent.
   */
  onPersist (name: string, fn: Hook, options: HookOptions = {}): this {
    this.#persistHooks.push(this.#checkHook('onPersist', name, fn, options, this.#persistHooks, ['timeoutMs']))
    this.#checkHookBudget()
    return this
  }

  /**
   * Tracks background work: a promise, or a function called at once with `signal`. Shutdown awaits
   * it during the drain; work still running at the drain deadline is reported as aborted.
   */
  track (task: Task): void {
    const thenable = typeof task === 'object' && task !== null && typeof (task as PromiseLike<unknown>).then === 'function'
    if (typeof task !== 'function' && !thenable) throw invalid('track(task)', 'a Promise or a function (signal) => Promise', task)
    if (this.#state !== 'starting' && this.#state !== 'running' && this.#state !== 'draining') throw this.#tooLate('track()')
    this.#tasks.add(task, this.signal)
  }

  /**
   * Work the instance needs before it can serve (a connection, a cache warm-up): a promise, or a
   * function called at once with a signal that aborts when shutdown begins. Readiness answers 503
   * `starting` until every startup task resolved and every added server listens. A task that
   * rejects or outlives its timeout (default: what remains of `startupTimeoutMs`) is logged by name
   * and fails startup: the shutdown pipeline runs, cleanup and persistence too, and the process
   * exits 1. Register while starting (during setup, before the server listens).
   */
  startup (name: string, task: StartupTask, options: StartupOptions = {}): this {
    if (this.#state !== 'starting') {
      throw new GracefulStateError(`startup('${String(name)}') was called in state '${this.#state}'; register startup tasks while starting, before the server listens`)
    }
    this.#startup.add(name, task, options)
    return this
  }

  /**
   * A readiness dependency check, run only for the readiness probe and never once shutdown began:
   * concurrently with the others, under `timeoutMs` (1000), its result reused for `cacheMs` (1000).
   * A throw, a rejection or `false` fails it; a failing `critical` (default) check makes readiness
   * 503 `unavailable`, a non-critical one 200 `degraded`. Errors are logged when the outcome changes.
   */
  check (name: string, fn: CheckFn, options: CheckOptions = {}): this {
    if (this.#state !== 'starting' && this.#state !== 'running') throw this.#tooLate(`check('${String(name)}')`)
    this.#checks.add(name, fn, options)
    return this
  }

  /** Runs the pipeline once; every call, concurrent or later, gets the same report. */
  shutdown (reason = 'shutdown()'): Promise<ShutdownReport> {
    if (typeof reason !== 'string') throw invalid('shutdown(reason)', 'a string', reason)
    if (this.#run) return this.#run
    // #run is set before the pipeline starts, so a listener of its first (synchronous) steps that
    // calls shutdown() gets this same promise.
    let start!: (report: Promise<ShutdownReport>) => void
    this.#run = new Promise((resolve) => { start = resolve })
    start(this.#pipeline(reason))
    return this.#run
  }

  get [kLogger] (): Logger {
    return this.#options.logger
  }

  /**
   * For doors that see requests, not the server (express, Koa and Hono middleware): the server a
   * request arrived on is added on its first request (with the connections it already has), and
   * that request is tracked. Once the drain began it is too late to add a server: the request is
   * still served, untracked.
   */
  [kAdoptRequest] (req: Parameters<ServerDrainer['adoptRequest']>[0], res: Parameters<ServerDrainer['adoptRequest']>[1]): void {
    const server = (req.socket as { server?: DrainableServer }).server
    // Every request of a known server takes this first branch: one lookup, then nothing to do.
    const known = server === undefined ? undefined : this.#drainers.get(server)
    if (known !== undefined) return known.adoptRequest(req, res)
    if (!isHttpServer(server) || this.#drainController.signal.aborted) return
    this.addServer(server)
    this.#drainers.get(server)?.adoptRequest(req, res)
  }

  #onSignal = (signal: NodeJS.Signals): void => {
    const now = Date.now()
    const foreign = foreignSignalListeners(signal)
    this.#signalsSeen++
    this.#exitWhenStopped = true
    if (this.#signalsSeen === 1) {
      this.#firstSignalAt = now
      this.#foreignAtFirstSignal = foreign
      this.#warnOfForeignListeners(signal, 'as the signal arrived')
    }
    if (this.#run === undefined) {
      void this.shutdown(signal)
    } else if (this.#signalsSeen === 1 || now - this.#firstSignalAt < DUPLICATE_SIGNAL_WINDOW_MS) {
      this.#options.logger.info({ signal }, 'signal received while already shutting down; continuing')
    } else if (foreign < this.#foreignAtFirstSignal) {
      // A foreign handler that removed its own listener and then signalled the process again (what
      // NestJS enableShutdownHooks() does once its close() finished): not a user asking to force.
      this.#options.logger.warn({ signal }, `${signal} sent again after another ${signal} handler finished and removed itself; not treated as a second signal`)
    } else if (!this.#force.signal.aborted) {
      this.#forcedDuring = this.#state
      this.#options.logger.error({ signal, phase: this.#state }, `second ${signal}: forcing exit, cutting the ${this.#state} phase`)
      this.#force.abort()
    }
  }

  #warnOfForeignListeners (signal: NodeJS.Signals, when: string): void {
    const count = foreignSignalListeners(signal)
    if (count === 0) return
    this.#options.logger.warn({ signal, listeners: count },
      `${count} other ${signal} listener(s) installed ${when}: they run alongside graceful's and usually close the server or exit before the pre-stop window and the drain; ` +
      'remove them (NestJS: drop app.enableShutdownHooks(), nestjs-graceful runs Nest\'s shutdown hooks after the drain), or start graceful with signals: [] and call shutdown() from your own handler')
  }

  #onListenerClosedByOther = (): void => {
    if (this.#state === 'starting' || this.#state === 'running' || this.#drainController.signal.aborted) return
    this.#options.logger.warn({ state: this.#state },
      'the server stopped listening before the drain: something else closed it (another SIGTERM handler?), so new connections were refused before the load balancer caught up')
  }

  /** Startup is over: every startup task resolved and every added server listens. */
  #onStarted = (): void => {
    if (this.#state === 'starting') this.#setState('running')
  }

  /** A startup task failed: the normal pipeline runs and, as after a signal, the process exits (1). */
  #onStartupFailure = (reason: string): void => {
    this.#exitWhenStopped = true
    void this.shutdown(reason)
  }

  #onRequestSeen = (req: { url?: string | undefined }): void => {
    if (this.#state !== 'draining' || this.#options.probePaths.has(pathOf(req.url))) return
    this.#preStop.sawTraffic()
  }

  async #pipeline (reason: string): Promise<ShutdownReport> {
    const { logger } = this.#options
    const startedAt = new Date()
    const t0 = performance.now()
    const faults: ErrorInfo[] = []
    const stopRecordingFaults = onProcessFault((error) => {
      faults.push(errorInfo(error))
      logger.error({ err: error }, 'uncaught error during shutdown; shutdown goes on')
    })

    this.#setState('draining')
    this.#reason = reason
    this.#shutdownController.abort(new Error(`shutdown: ${reason}`))
    this.#startup.abort(this.signal.reason)
    this.#tasks.startCounting()
    let inFlightAtSignal = 0
    for (const drainer of this.#drainers.values()) {
      inFlightAtSignal += drainer.inFlight
      drainer.startDraining()
    }
    logger.info({ reason, inFlight: inFlightAtSignal }, 'shutdown started; readiness reports draining')

    const { drainDeadline, cleanupDeadline } = this.#budget(t0)

    const preStop = await this.#preStop.run(t0, drainDeadline)
    const drainers = [...this.#drainers.values()]
    const drain = await this.#drain(drainers, t0, drainDeadline)

    this.#setState('cleaning')
    const cleanupStart = performance.now()
    const hooks: HookReport[] = []
    for (const hook of this.#cleanupHooks.filter((h) => !h.afterPersist).reverse()) {
      // Cleanup shares what is left before the persist reserve; persistence never pays for it.
      const budget = Math.min(hook.timeoutMs, cleanupDeadline - performance.now())
      hooks.push(await this.#runHook(hook, 'cleanup', budget))
    }
    const cleanupMs = performance.now() - cleanupStart

    this.#setState('persisting')
    const persistStart = performance.now()
    for (const hook of this.#persistHooks) hooks.push(await this.#runHook(hook, 'persist', hook.timeoutMs))
    for (const hook of this.#cleanupHooks.filter((h) => h.afterPersist).reverse()) {
      hooks.push(await this.#runHook(hook, 'cleanup', hook.timeoutMs))
    }
    const persistMs = performance.now() - persistStart

    this.#setState('stopped')
    for (const drainer of drainers) drainer.detach()
    this.#unsubscribeSignals()
    stopRecordingFaults()

    const counts = drainers.map((d) => d.counts)
    const total = (key: keyof ServerDrainer['counts']): number => counts.reduce((sum, c) => sum + c[key], 0)
    const forced = this.#force.signal.aborted
    const failed = hooks.some((h) => h.outcome !== 'ok') || faults.length > 0 || this.#tasks.failed > 0 || this.#startup.failed
    const report: ShutdownReport = {
      reason,
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      durationMs: Math.round(performance.now() - t0),
      exitCode: this.#exitCode(reason, forced || failed || !drain.complete),
      forced,
      ...(this.#forcedDuring === undefined ? {} : { forcedDuring: this.#forcedDuring }),
      phases: {
        preStop: { ...preStop, durationMs: Math.round(preStop.durationMs) },
        drain: {
          durationMs: Math.round(drain.durationMs),
          // The earliest close, ours or someone else's (a foreign SIGTERM handler may beat the signal's own run).
          listenerClosedAtMs: Math.max(0, Math.round(firstListenerClose(drainers, drain.startedAt) - t0)),
          listenerClosedBy: drainers.some((d) => d.listenerClosedByOther) ? 'other' : 'graceful',
          acceptedAfterDrainBegan: total('acceptedAfterDrainBegan')
        },
        cleanup: { durationMs: Math.round(cleanupMs) },
        persist: { durationMs: Math.round(persistMs) }
      },
      requests: { inFlightAtSignal, completedDuringDrain: total('completed') },
      sockets: { closedIdle: total('closedIdle'), closedAfterResponse: total('closedAfterResponse'), forced: total('forced') },
      tasks: { finished: this.#tasks.finished, failed: this.#tasks.failed, aborted: drain.tasksAborted },
      longLived: { streamsEnded: total('streamsEnded'), webSocketsClosed: this.#webSockets.counts.closed, webSocketsTerminated: this.#webSockets.counts.terminated },
      hooks,
      startup: this.#startup.report(),
      faults
    }
    this.#emitSafely('report', report)
    if (report.exitCode === 0) logger.info({ report }, summaryLine(report))
    else logger.error({ report }, summaryLine(report))
    if (this.#options.exit && this.#exitWhenStopped) {
      await flushLogger(this.#options.logger)
      this.#options.exit(report.exitCode)
    }
    return report
  }

  /**
   * Closes the listeners once their accept queues are empty, waits for connections and tasks until
   * the deadline, then destroys what is left. `complete` is false when anything had to be cut.
   */
  async #drain (drainers: readonly ServerDrainer[], t0: number, deadline: number): Promise<{ complete: boolean, startedAt: number, durationMs: number, tasksAborted: number }> {
    const start = performance.now()
    // Long-lived connections are ended now, not during pre-stop: clients reconnecting then would
    // come straight back to this instance.
    this.#drainController.abort(new Error('drain started'))
    for (const drainer of drainers) drainer.endLongLived()
    this.#webSockets.closeAll(deadline - start)
    await closeListeners(drainers, Math.min(deadline, start + LISTENER_SETTLE_MAX_MS), this.#force.signal)
    const complete = await settledBefore(Promise.all([...drainers.map((d) => d.closed), this.#tasks.settled(), this.#webSockets.closed]), deadline, this.#force.signal)
    const tasksAborted = complete ? 0 : this.#tasks.size
    if (!complete) {
      this.#webSockets.terminateRest()
      for (const drainer of drainers) drainer.forceClose()
      this.#options.logger.warn({ tasksAborted, afterMs: Math.round(performance.now() - t0) }, 'drain deadline reached; remaining connections destroyed')
    }
    return { complete, startedAt: start, durationMs: performance.now() - start, tasksAborted }
  }

  async #runHook (hook: RegisteredHook, phase: HookReport['phase'], timeoutMs: number): Promise<HookReport> {
    const report = await runHook(hook, phase, timeoutMs, this.#force.signal)
    if (report.outcome !== 'ok') {
      this.#options.logger.warn({ hook: hook.name, phase, outcome: report.outcome, err: report.error }, `${phase} hook ${report.outcome === 'error' ? 'failed' : report.outcome === 'timeout' ? 'timed out' : 'skipped'}`)
    }
    return report
  }

  #exitCode (reason: string, failed: boolean): number {
    if (failed) return 1
    const signalNumber = (constants.signals as Record<string, number>)[reason]
    return this.#options.exitWithSignalCode && signalNumber !== undefined ? 128 + signalNumber : 0
  }

  #setState (state: State): void {
    this.#state = state
    this.#emitSafely('state', state)
  }

  /** A throwing listener is logged, never allowed to break the pipeline. */
  #emitSafely (event: keyof GracefulEvents, value: State | ShutdownReport): void {
    try {
      (this.emit as (event: string, value: unknown) => boolean)(event, value)
    } catch (error) {
      this.#options.logger.error({ err: error, event }, 'a graceful event listener threw')
    }
  }

  #checkHook (method: string, name: unknown, fn: unknown, options: unknown, existing: readonly RegisteredHook[], keys: string[]): RegisteredHook {
    if (typeof name !== 'string' || name.trim() === '') throw invalid(`${method}(name)`, 'a non-empty string', name)
    if (typeof fn !== 'function') throw invalid(`${method}('${name}', fn)`, 'a function (signal) => unknown', fn)
    if (typeof options !== 'object' || options === null) throw invalid(`${method}('${name}') options`, 'an object', options)
    for (const key of Object.keys(options)) {
      if (!keys.includes(key)) throw invalid(`${method}('${name}') options.${key}`, `one of ${keys.join(', ')} (unknown option)`, key)
    }
    if (existing.some((h) => h.name === name)) throw invalid(`${method}(name)`, 'unique among its phase\'s hooks', name)
    if (this.#state !== 'starting' && this.#state !== 'running') throw this.#tooLate(`${method}('${name}')`)
    const timeoutMs = (options as HookOptions).timeoutMs
    return {
      name,
      fn: fn as Hook,
      timeoutMs: timeoutMs === undefined ? this.#options.hookTimeoutMs : checkDuration(`${method}('${name}') options.timeoutMs`, timeoutMs, { positive: true })
    }
  }

  #tooLate (what: string): GracefulStateError {
    return new GracefulStateError(`${what} was called after shutdown began (state '${this.#state}'); register before shutdown`)
  }

  /**
   * Splits gracePeriodMs: the hooks reserve the sum of their timeouts, at most half of the period so
   * the drain always keeps the other half; within that reserve persistence comes first. Persist hooks
   * also keep their full timeouts when cleanup overran (a hook that blocked the event loop).
   */
  #budget (t0: number): { drainDeadline: number, cleanupDeadline: number } {
    const { gracePeriodMs } = this.#options
    const { persistMs, cleanupMs } = this.#hookTimeouts()
    const hooksMs = Math.min(persistMs + cleanupMs, gracePeriodMs / 2)
    const end = t0 + gracePeriodMs
    return { drainDeadline: end - hooksMs, cleanupDeadline: end - Math.min(persistMs, hooksMs) }
  }

  /** The timeouts the hooks may use: those that run with persistence (after it too), and the cleanups before it. */
  #hookTimeouts (): { persistMs: number, cleanupMs: number } {
    const cleanupHooks = this.#cleanupHooks.filter((h) => h.budgeted)
    return {
      persistMs: sumTimeouts(this.#persistHooks) + sumTimeouts(cleanupHooks.filter((h) => h.afterPersist)),
      cleanupMs: sumTimeouts(cleanupHooks.filter((h) => !h.afterPersist))
    }
  }

  #checkHookBudget (): void {
    const { persistMs, cleanupMs } = this.#hookTimeouts()
    const hooksMs = persistMs + cleanupMs
    const { gracePeriodMs, logger } = this.#options
    if (this.#budgetWarned || hooksMs <= gracePeriodMs / 2) return
    this.#budgetWarned = true
    logger.warn({ gracePeriodMs, hookTimeoutsMs: hooksMs },
      'the hooks\' timeouts add up to more than half of gracePeriodMs; they get half, the drain the other half (raise gracePeriodMs or lower hook timeouts)')
  }

  #checkTerminationBudget (): void {
    const { terminationGracePeriodMs, gracePeriodMs, logger } = this.#options
    if (terminationGracePeriodMs === undefined || gracePeriodMs + TERMINATION_HEADROOM_MS <= terminationGracePeriodMs) return
    logger.warn({ gracePeriodMs, terminationGracePeriodMs },
      `gracePeriodMs (pre-stop, drain, cleanup and persistence) must end at least ${TERMINATION_HEADROOM_MS} ms before the platform kills the process; raise terminationGracePeriodSeconds or lower gracePeriodMs`)
  }
}

/** node:http and node:https servers by class; node:http2 servers (whose classes are not exported) by their settings method. */
function isHttpServer (server: unknown): server is DrainableServer {
  return server instanceof http.Server || server instanceof https.Server ||
    (server instanceof NetServer && typeof (server as { updateSettings?: unknown }).updateSettings === 'function')
}

/** When the first listener stopped accepting (by anyone); `fallback` when no server was added. */
function firstListenerClose (drainers: readonly ServerDrainer[], fallback: number): number {
  const closes = drainers.flatMap((d) => (d.listenerClosedAt === undefined ? [] : [d.listenerClosedAt]))
  return closes.length === 0 ? fallback : Math.min(...closes)
}

function sumTimeouts (hooks: readonly RegisteredHook[]): number {
  return hooks.reduce((sum, h) => sum + h.timeoutMs, 0)
}

/** Waits for the logger to flush, at most LOGGER_FLUSH_TIMEOUT_MS, so the last lines are not lost on exit. */
async function flushLogger (logger: ResolvedOptions['logger']): Promise<void> {
  if (typeof logger.flush !== 'function') return
  const flush = logger.flush.bind(logger)
  await Promise.race([
    new Promise<void>((resolve) => {
      try {
        flush(() => resolve())
      } catch {
        resolve()
      }
    }),
    sleep(LOGGER_FLUSH_TIMEOUT_MS, undefined, { ref: false })
  ])
}

/** Creates a coordinator. Options are validated here; a bad one throws at once, naming itself. */
export function createGraceful (options?: GracefulOptions): Graceful {
  return new Graceful(options)
}
