import { EventEmitter } from 'node:events'
import { type Budget, budgetWarnings, planBudget } from './budget.js'
import { CheckSet } from './checks.js'
import type { Drainer, DrainWatcher } from './drain/contract.js'
import { type FetchHandler, FetchServerDrainer } from './drain/fetch-server.js'
import { isNativeServer, type NativeServer } from './drain/native-server.js'
import { type DrainableServer, isDrainableServer } from './drain/node-http.js'
import { ServerDrainer } from './drain/server-drainer.js'
import { LongLivedSpread } from './drain/long-lived-spread.js'
import { detectRuntime, runtimeWarnings, unsupportedRuntime } from './platform/runtime.js'
import { checkWebSocketServer, WebSocketCloser, type WebSocketLike, type WebSocketServerLike } from './drain/websockets.js'
import { GracefulStateError, invalid, tooLate } from './errors.js'
import { HookRegistry } from './hooks.js'
import { claimServer } from './process-runs.js'
import { type ResolvedOptions, resolveOptions } from './options.js'
import { pathOf, type ProbeAnswer, probeAnswer, type ProbeKind, probeKindOf, type ProbeRequest, type ProbeResponse, readinessOf, respondToProbe } from './probes.js'
import { StartupGate } from './startup.js'
import { kAdoptRequest, kFrameworkCleanup, kHoldStartup, kLogger } from './symbols.js'
import { TaskSet } from './tasks.js'
import { isThenable } from './validate.js'
import type {
  CheckFn, CheckOptions, CleanupOptions, GracefulOptions, Hook, HookOptions, Logger, Readiness, ShutdownReport, StartupOptions, StartupTask, State, Task
} from './types.js'

export interface GracefulEvents {
  state: [State]
  report: [ShutdownReport]
}

/**
 * What an application registers with the coordinator before shutdown, and what it can ask of it at
 * any time: servers, WebSocket servers, hooks, tracked tasks, startup tasks, readiness checks and
 * probes. The run itself (signals, the pipeline) is Graceful's, in coordinator.ts, which extends
 * this class; the members marked internal are shared with it only.
 */
export abstract class Registrations extends EventEmitter<GracefulEvents> {
  /** @internal */ protected readonly options: ResolvedOptions
  /** @internal */ protected readonly shutdownController = new AbortController()
  /** @internal Aborted by a second signal: every remaining wait is skipped. */
  protected readonly force = new AbortController()
  /** @internal */ protected readonly drainController = new AbortController()
  /** @internal */ protected readonly webSockets = new WebSocketCloser()
  /** @internal */ protected readonly longLived: LongLivedSpread
  /** @internal One per node server; the one FetchServerDrainer (for every native server) under itself. */
  protected readonly drainers = new Map<object, Drainer>()
  /** @internal */ protected readonly tasks: TaskSet
  /** @internal */ protected readonly hooks: HookRegistry
  /** @internal */ protected readonly startupGate: StartupGate
  /** @internal */ protected readonly checks: CheckSet
  /** @internal */ protected currentState: State = 'starting'
  /** @internal */ protected run: Promise<ShutdownReport> | undefined
  /** @internal */ protected budgetCheck: NodeJS.Immediate | undefined
  readonly #warned = new Set<string>()
  readonly #watcher: DrainWatcher = {
    isProbe: (req) => this.options.probePaths.has(pathOf(req.url)),
    onTraffic: () => { this.onTraffic() },
    onListenerClosedByOther: () => { this.onListenerClosedByOther() }
  }
  #fetchDrainer: FetchServerDrainer | undefined

  constructor (options?: GracefulOptions) {
    super()
    const runtime = detectRuntime()
    const unsupported = unsupportedRuntime(runtime)
    if (unsupported !== undefined) throw unsupported
    this.options = resolveOptions(options)
    const { logger } = this.options
    for (const message of runtimeWarnings(runtime)) logger.warn({ runtime }, message)
    this.tasks = new TaskSet(logger)
    this.longLived = new LongLivedSpread(this.options.longLived)
    this.hooks = new HookRegistry(this.options.hookTimeoutMs, logger)
    this.checks = new CheckSet(logger)
    this.startupGate = new StartupGate(this.options.startupTimeoutMs, logger, () => this.onStarted(), (reason) => this.onStartupFailure(reason))
  }

  /** @internal Startup is over: every startup task resolved and every added server listens. */
  protected abstract onStarted (): void
  /** @internal A startup task failed. */
  protected abstract onStartupFailure (reason: string): void
  /** @internal A request that is not a probe arrived on an added server while draining. */
  protected abstract onTraffic (): void
  /** @internal Someone else closed an added server's listener. */
  protected abstract onListenerClosedByOther (): void

  /** Aborted when shutdown begins: pass it to long-running work so it stops taking new work. */
  get signal (): AbortSignal {
    return this.shutdownController.signal
  }

  /**
   * Closes a WebSocket server's clients politely when the drain begins: close `longLived.closeCode`
   * (1012 "service restart" by default), in random order spread over `longLived.spreadMs`, the
   * handshake awaited; clients still open at the drain deadline are terminated. `wss` is a `ws`
   * WebSocketServer or anything with `clients`.
   */
  addWebSocketServer (wss: WebSocketServerLike): this {
    const server = checkWebSocketServer(wss)
    if (this.drainController.signal.aborted) throw tooLate('addWebSocketServer()', this.currentState)
    this.webSockets.add(server)
    return this
  }

  /**
   * Lets a long-lived connection (a WebSocket of an added WebSocket server, or the response of an
   * event stream) finish `work` before the drain closes it: when its turn in the spread comes, its
   * close waits until `work` settles, and until any work held after it. Bounded: once three quarters
   * of the drain time have passed the close goes out anyway (counted as `holdsExpired` in the report),
   * so the close handshake still fits before the deadline. Call it for each message being sent;
   * it costs nothing until the drain. Returns `work`, so it wraps a send: `await graceful.holdLongLived(ws, send(ws, data))`.
   */
  holdLongLived<T> (connection: WebSocketLike | object, work: PromiseLike<T>): PromiseLike<T> {
    if (typeof connection !== 'object' || connection === null) {
      throw invalid('holdLongLived(connection)', 'a WebSocket or an event stream\'s response object', connection)
    }
    if (!isThenable(work)) throw invalid('holdLongLived(connection, work)', 'a promise that settles when the message is written', work)
    this.longLived.holds.hold(connection, work)
    return work
  }

  /**
   * What a readiness probe should answer, without running anything: ready only while running and no
   * critical check failed at its last run (`probe('ready')` runs the checks that are due).
   */
  readiness (): Readiness {
    return readinessOf(this.currentState, this.checks.size > 0 ? this.checks.summary() : undefined)
  }

  /** Where the probe routes live (`healthPath`, `readyPath`), for doors that register them as their framework's routes. */
  get probeRoutes (): Readonly<Record<ProbeKind, string | false>> {
    return { health: this.options.healthPath, ready: this.options.readyPath }
  }

  /**
   * What a probe route answers: liveness (`health`) is 200 while the process lives; readiness
   * (`ready`) is 200 only when the instance can take traffic. For frameworks with their own reply
   * objects; `handleProbe()` answers a node:http request directly.
   */
  async probe (kind: ProbeKind): Promise<ProbeAnswer> {
    if (kind !== 'health' && kind !== 'ready') throw invalid('probe(kind)', "'health' or 'ready'", kind)
    // Liveness never depends on a dependency; readiness checks run only while running.
    if (kind === 'health') return probeAnswer(kind, readinessOf(this.currentState))
    if (this.currentState === 'running' && this.checks.size > 0) await this.checks.refresh(this.signal)
    return probeAnswer(kind, this.readiness())
  }

  /** Which probe a request is for: GET or HEAD on `healthPath` or `readyPath` (query strings ignored), else undefined. */
  probeKind (method: string | undefined, url: string | undefined): ProbeKind | undefined {
    return probeKindOf(method, url, this.probeRoutes)
  }

  /**
   * Answers GET or HEAD on the probe paths (`healthPath`, `readyPath`; query strings ignored) for
   * any node:http framework, and returns true; returns false for every other request, untouched.
   */
  handleProbe (req: ProbeRequest, res: ProbeResponse): boolean {
    const kind = this.probeKind(req.method, req.url)
    if (kind === undefined) return false
    respondToProbe(req, res, this.probe(kind), this.options.logger)
    return true
  }

  /**
   * Tracks a server's connections from now on so shutdown can drain them: a node:http, node:https
   * or node:http2 server, or the server `Bun.serve()` or `Deno.serve()` returned (its handler
   * wrapped by `fetchHandler()`). Returns the coordinator. Servers can join until the drain begins.
   */
  addServer (server: DrainableServer | NativeServer): this {
    const native = isNativeServer(server)
    if (!native && !isDrainableServer(server)) throw invalid('addServer(server)', 'a node:http, node:https or node:http2 server, or the server of Bun.serve() or Deno.serve()', server)
    if (this.drainers.has(server)) return this
    if (this.drainController.signal.aborted) throw tooLate('addServer()', this.currentState)
    if (native) {
      this.#fetchServers().add(server)
      return this
    }
    if (!claimServer(server, this)) {
      throw new GracefulStateError('addServer(server): another graceful coordinator already drains this server; use one coordinator per server ' +
        '(coordinators on different servers are fine: one signal starts them all and the process exits once every one has finished)')
    }
    const drainer = new ServerDrainer(server, this.#watcher)
    this.drainers.set(server, drainer)
    if (this.currentState === 'starting') this.startupGate.watch(server)
    else if (this.currentState !== 'running') drainer.announceClose()
    return this
  }

  /**
   * Wraps a fetch handler (Hono's `app.fetch`, or any `(request, ...) => Response`) for
   * `Bun.serve()` or `Deno.serve()`: it answers the probes (`healthPath`, `readyPath`), and graceful
   * sees its requests (in progress, traffic during pre-stop, `Connection: close` once shutdown
   * began). Register the server it serves with `addServer(server)`, so the drain stops it.
   */
  fetchHandler<H extends FetchHandler> (handler: H): H {
    if (typeof handler !== 'function') throw invalid('fetchHandler(handler)', 'a function (request, ...) => Response, such as app.fetch', handler)
    return this.#fetchServers().wrap(handler)
  }

  /** The one drainer of every fetch handler and native server, made on first use. */
  #fetchServers (): FetchServerDrainer {
    if (this.#fetchDrainer !== undefined) return this.#fetchDrainer
    const drainer = this.#fetchDrainer = new FetchServerDrainer({
      ...this.#watcher, probeKind: (method, path) => this.probeKind(method, path), probe: (kind) => this.probe(kind), logger: this.options.logger
    })
    this.drainers.set(drainer, drainer)
    if (this.currentState !== 'starting' && this.currentState !== 'running') drainer.announceClose()
    return drainer
  }

  /**
   * Registers resource release. Cleanup hooks run after the drain in reverse registration order,
   * each under its timeout; with `afterPersist: true` a hook runs after the persist phase instead,
   * for resources persistence still needs.
   */
  onCleanup (name: string, fn: Hook, options: CleanupOptions = {}): this {
    this.assertRegistering(`onCleanup('${String(name)}')`)
    this.hooks.addCleanup(name, fn, options)
    this.checkBudget()
    return this
  }

  /**
   * For adapters: closes the framework itself (fastify's app.close() and its onClose hooks) as the
   * very last cleanup, after persistence. It reserves no share of gracePeriodMs, so an application
   * drains for the same time whichever adapter it uses; it still runs under hookTimeoutMs.
   */
  [kFrameworkCleanup] (name: string, fn: Hook): void {
    this.assertRegistering(`onCleanup('${String(name)}')`)
    this.hooks.addFrameworkClose(name, fn)
  }

  /**
   * Registers state persistence. Persist hooks run after cleanup in registration order, each under
   * its timeout, and keep their budget even when drain or cleanup overran. They may run again on a
   * later start, so make them idempotent.
   */
  onPersist (name: string, fn: Hook, options: HookOptions = {}): this {
    this.assertRegistering(`onPersist('${String(name)}')`)
    this.hooks.addPersist(name, fn, options)
    this.checkBudget()
    return this
  }

  /**
   * Tracks background work: a promise, or a function called at once with `signal`. Shutdown awaits
   * it during the drain; work still running at the drain deadline is reported as aborted.
   */
  track (task: Task): void {
    if (typeof task !== 'function' && !isThenable(task)) throw invalid('track(task)', 'a Promise or a function (signal) => Promise', task)
    if (this.currentState !== 'starting' && this.currentState !== 'running' && this.currentState !== 'draining') throw tooLate('track()', this.currentState)
    this.tasks.add(task, this.signal)
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
    if (this.currentState !== 'starting') {
      throw new GracefulStateError(`startup('${String(name)}') was called in state '${this.currentState}'; register startup tasks while starting, before the server listens`)
    }
    this.startupGate.add(name, task, options)
    return this
  }

  /**
   * A readiness dependency check, run only for the readiness probe and never once shutdown began:
   * concurrently with the others, under `timeoutMs` (1000), its result reused for `cacheMs` (1000).
   * A throw, a rejection or `false` fails it; a failing `critical` (default) check makes readiness
   * 503 `unavailable`, a non-critical one 200 `degraded`. Errors are logged when the outcome changes.
   */
  check (name: string, fn: CheckFn, options: CheckOptions = {}): this {
    this.assertRegistering(`check('${String(name)}')`)
    this.checks.add(name, fn, options)
    return this
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
    const known = server === undefined ? undefined : this.drainers.get(server)
    if (known instanceof ServerDrainer) return known.adoptRequest(req, res)
    if (!isDrainableServer(server) || this.drainController.signal.aborted) return
    // Another coordinator drains this server (two middleware on one app): its coordinator tracks the request.
    if (!claimServer(server, this)) return
    this.addServer(server)
    ;(this.drainers.get(server) as ServerDrainer | undefined)?.adoptRequest(req, res)
  }

  /** For doors: holds the instance in `starting` until the framework finished its setup; returns the release. */
  [kHoldStartup] (): () => void {
    return this.startupGate.hold()
  }

  get [kLogger] (): Logger {
    return this.options.logger
  }

  /**
   * Warns of a budget that cannot work as configured (see budget.ts), once per warning, after the
   * synchronous setup: hooks registered right after createGraceful() count.
   */
  protected checkBudget (): void {
    if (this.budgetCheck !== undefined || this.run !== undefined) return
    this.budgetCheck = setImmediate(() => { this.warnOfBudgetNow() }).unref()
  }

  /** @internal Logs each budget warning once; the instance does this before it reports running, at the latest. */
  protected warnOfBudgetNow (): void {
    clearImmediate(this.budgetCheck)
    this.budgetCheck = undefined
    for (const { fields, message } of budgetWarnings(this.budget(), this.options)) {
      if (this.#warned.has(message)) continue
      this.#warned.add(message)
      this.options.logger.warn(fields, message)
    }
  }

  protected assertRegistering (what: string): void {
    if (this.currentState !== 'starting' && this.currentState !== 'running') throw tooLate(what, this.currentState)
  }

  /** @internal The split of gracePeriodMs with the hooks registered so far (see budget.ts). */
  protected budget (): Budget {
    return planBudget(this.options, this.hooks.timeouts())
  }
}
