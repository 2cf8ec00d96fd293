import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FetchHandler } from './drain/fetch-server.js'
import type { NativeServer } from './drain/native-server.js'
import type { DrainableServer } from './drain/node-http.js'
import { checkWebSocketServer, type WebSocketLike, type WebSocketServerLike } from './drain/websockets.js'
import { GracefulStateError, tooLate } from './errors.js'
import { invalid, isThenable } from './validate.js'
import type { GracefulEvents } from './lifecycle.js'
import { kInFlight, registerInFlightSource } from './observe/in-flight.js'
import { enableTelemetry } from './observe/telemetry.js'
import { buildParts, type Parts } from './parts.js'
import { attachProcessManager } from './platform/process-manager.js'
import { runShutdown } from './pipeline.js'
import { onSignals } from './process-events.js'
import { signalHandler } from './signals.js'
import type { ProbeAnswer, ProbeKind, ProbeRequest, ProbeResponse } from './probes.js'
import { probesFirst, type RequestListener } from './request-listener.js'
import type {
  CheckFn, CheckOptions, CleanupOptions, GracefulOptions, Hook, HookOptions, Readiness, ShutdownReport, StartupOptions, StartupTask, State, Task
} from './types.js'

export type { GracefulEvents } from './lifecycle.js'
export type { ProbeRequest, ProbeResponse } from './probes.js'

/** A coordinator's parts, for the door protocol (door.ts); no entry of the package exports it. */
export let partsOf: (graceful: Graceful) => Parts

/**
 * The shutdown coordinator: what an application registers (servers, WebSocket servers, hooks,
 * tasks, startup tasks, readiness checks), what it can ask at any time (state, probes), and the one
 * run of the pipeline (pipeline.ts) that a signal or `shutdown()` starts. It holds its parts and
 * wires them; each concept lives in its own file (see the README's "Architecture").
 */
export class Graceful {
  static {
    partsOf = (graceful) => graceful.#parts
  }

  readonly #parts: Parts
  readonly #unsubscribeSignals: () => void
  #run: Promise<ShutdownReport> | undefined

  constructor (options?: GracefulOptions) {
    const parts = this.#parts = buildParts(this, options, { onStarted: () => { this.#onStarted() }, onStartupFailure: (reason) => { this.#onStartupFailure(reason) } })
    const onSignal = signalHandler(parts.signals, parts.lifecycle, () => this.#run !== undefined, (signal) => { void this.shutdown(signal) })
    this.#unsubscribeSignals = onSignals(parts.options.signals, onSignal)
    // PM2 and node:cluster: 'ready' once running, the 'shutdown' message starts a run like a signal.
    attachProcessManager(this, onSignal)
    // OpenTelemetry, when @opentelemetry/api is installed: spans and metrics from the channels.
    enableTelemetry()
    registerInFlightSource(this)
    parts.budgetWarnings.schedule()
  }

  /**
   * Listens to `'state'` (every state change) or `'report'` (the ShutdownReport, once), with
   * node:events semantics (an EventEmitter holds the listeners; `events.once(graceful, 'report')` works).
   */
  on<E extends keyof GracefulEvents> (event: E, listener: (...value: GracefulEvents[E]) => void): this {
    this.#parts.lifecycle.events.on(event, listener as never)
    return this
  }

  once<E extends keyof GracefulEvents> (event: E, listener: (...value: GracefulEvents[E]) => void): this {
    this.#parts.lifecycle.events.once(event, listener as never)
    return this
  }

  off<E extends keyof GracefulEvents> (event: E, listener: (...value: GracefulEvents[E]) => void): this {
    this.#parts.lifecycle.events.off(event, listener as never)
    return this
  }

  /** off() by the name events.once() uses. */
  removeListener<E extends keyof GracefulEvents> (event: E, listener: (...value: GracefulEvents[E]) => void): this {
    return this.off(event, listener)
  }

  /** The current lifecycle state. */
  get state (): State {
    return this.#parts.lifecycle.state
  }

  /** Why the shutdown began: the signal's name (`'SIGTERM'`) or the caller's reason; undefined before. */
  get shutdownReason (): string | undefined {
    return this.#parts.lifecycle.reason
  }

  /** Aborted when shutdown begins: pass it to long-running work so it stops taking new work. */
  get signal (): AbortSignal {
    return this.#parts.lifecycle.shutdown.signal
  }

  /** Aborted when the drain begins (pre-stop is over): the moment to end long polls and streams, so clients reconnect elsewhere. */
  get drainSignal (): AbortSignal {
    return this.#parts.lifecycle.drain.signal
  }

  /**
   * Tracks a server's connections from now on so shutdown can drain them: a node:http, node:https
   * or node:http2 server, or the server `Bun.serve()` or `Deno.serve()` returned (its handler
   * wrapped by `fetchHandler()`). Servers can join until the drain begins; a server belongs to one
   * coordinator.
   */
  addServer (server: DrainableServer | NativeServer): this {
    this.#parts.servers.add(server)
    return this
  }

  /**
   * Wraps a fetch handler (Hono's `app.fetch`, or any `(request, ...) => Response`) for
   * `Bun.serve()` or `Deno.serve()`: it answers the probes, and graceful sees its requests (in
   * progress, traffic during pre-stop, `Connection: close` on every response once shutdown began:
   * these servers show no connections, so none can be told once). Register the server it serves
   * with `addServer(server)`, so the drain stops it.
   */
  fetchHandler<H extends FetchHandler> (handler: H): H {
    return this.#parts.servers.fetchHandler(handler)
  }

  /**
   * Closes a WebSocket server's clients politely when the drain begins: close `longLived.closeCode`
   * (1012 "service restart" by default), in random order spread over `longLived.spreadMs`, the
   * handshake awaited; clients still open at the drain deadline are terminated. `wss` is a `ws`
   * WebSocketServer or anything with `clients`.
   */
  addWebSocketServer (wss: WebSocketServerLike): this {
    const server = checkWebSocketServer(wss)
    if (this.drainSignal.aborted) throw tooLate('addWebSocketServer()', this.state)
    this.#parts.webSockets.add(server)
    return this
  }

  /**
   * Lets a long-lived connection (a WebSocket of an added WebSocket server, or an event stream's
   * response) finish `work` before the drain closes it, bounded: once three quarters of the drain
   * time have passed the close goes out anyway (`holdsExpired` in the report). Costs nothing until
   * the drain. Returns `work`: `await graceful.holdLongLived(ws, send(ws, data))`.
   */
  holdLongLived<T> (connection: WebSocketLike | object, work: PromiseLike<T>): PromiseLike<T> {
    this.#parts.longLived.holds.hold(connection, work)
    return work
  }

  /**
   * Registers resource release. Cleanup hooks run after the drain in reverse registration order,
   * each under its timeout; with `afterPersist: true` a hook runs after the persist phase instead,
   * for resources persistence still needs.
   */
  onCleanup (name: string, fn: Hook, options: CleanupOptions = {}): this {
    this.#assertRegistering(`onCleanup('${String(name)}')`)
    this.#parts.hooks.addCleanup(name, fn, options)
    this.#parts.budgetWarnings.schedule()
    return this
  }

  /**
   * Registers state persistence. Persist hooks run after cleanup in registration order, each under
   * its timeout, and keep their budget even when drain or cleanup overran. They may run again on a
   * later start, so make them idempotent.
   */
  onPersist (name: string, fn: Hook, options: HookOptions = {}): this {
    this.#assertRegistering(`onPersist('${String(name)}')`)
    this.#parts.hooks.addPersist(name, fn, options)
    this.#parts.budgetWarnings.schedule()
    return this
  }

  /**
   * Tracks background work: a promise, or a function called at once with `signal`. Shutdown awaits
   * it during the drain; work still running at the drain deadline is reported as aborted.
   */
  track (task: Task): void {
    if (typeof task !== 'function' && !isThenable(task)) throw invalid('track(task)', 'a Promise or a function (signal) => Promise', task)
    if (!this.#parts.lifecycle.serving && this.state !== 'draining') throw tooLate('track()', this.state)
    this.#parts.tasks.add(task, this.signal)
  }

  /**
   * Work the instance needs before it can serve (a connection, a cache warm-up): a promise, or a
   * function called at once with a signal that aborts when shutdown begins. Readiness answers 503
   * `starting` until every startup task resolved and every added server listens. A task that
   * rejects or outlives its timeout (default: what remains of `startupTimeoutMs`) fails startup: the
   * shutdown pipeline runs and the process exits 1. Register while starting.
   */
  startup (name: string, task: StartupTask, options: StartupOptions = {}): this {
    if (this.state !== 'starting') {
      throw new GracefulStateError(`startup('${String(name)}') was called in state '${this.state}'; register startup tasks while starting, before the server listens`)
    }
    this.#parts.startupGate.add(name, task, options)
    return this
  }

  /**
   * A readiness dependency check, run only for the readiness probe and never once shutdown began,
   * under `timeoutMs` (1000), its result reused for `cacheMs` (1000). A throw, a rejection or
   * `false` fails it; a failing `critical` (default) check makes readiness 503 `unavailable`, a
   * non-critical one 200 `degraded`.
   */
  check (name: string, fn: CheckFn, options: CheckOptions = {}): this {
    this.#assertRegistering(`check('${String(name)}')`)
    this.#parts.checks.add(name, fn, options)
    return this
  }

  /** What readiness is, without running a check: ready only while running and no critical check failed at its last run. */
  readiness (): Readiness {
    return this.#parts.probes.readiness()
  }

  /** Where the probe routes live (`healthPath`, `readyPath`), for doors that register them as their framework's routes. */
  get probeRoutes (): Readonly<Record<ProbeKind, string | false>> {
    return this.#parts.probes.routes
  }

  /**
   * What a probe route answers: liveness (`health`) is 200 while the process lives; readiness
   * (`ready`) is 200 only when the instance can take traffic (due checks run first).
   */
  async probe (kind: ProbeKind): Promise<ProbeAnswer> {
    return await this.#parts.probes.answer(kind)
  }

  /** Which probe a request is for: GET or HEAD on `healthPath` or `readyPath` (query strings ignored), else undefined. */
  probeKind (method: string | undefined, url: string | undefined): ProbeKind | undefined {
    return this.#parts.probes.kindOf(method, url)
  }

  /** Answers GET or HEAD on the probe paths for any node:http framework and returns true; false for any other request, untouched. */
  handleProbe (req: ProbeRequest, res: ProbeResponse): boolean {
    return this.#parts.probes.handle(req, res)
  }

  /**
   * Wraps a node:http request listener (an express app, Koa's `app.callback()`, @hono/node-server's
   * `getRequestListener(app.fetch)`, any `(req, res) => void`) so that it answers the probes before
   * the application: `http.createServer(graceful.requestListener(app))`. Every other request goes to
   * `listener` untouched, with no per-request middleware. Register the server with `addServer(server)`
   * (a door's `attach(server)`), or it is found from its first request: the drain, the in-flight
   * count and `Connection: close` are the server's, as for any node:http server.
   */
  requestListener (listener: RequestListener): (req: IncomingMessage, res: ServerResponse) => void {
    if (typeof listener !== 'function') {
      throw invalid('requestListener(listener)', "a function (req, res) => void, such as an express app, Koa's app.callback() or @hono/node-server's getRequestListener(app.fetch)", listener)
    }
    const servers = this.#parts.servers
    return probesFirst(this.#parts.probes, listener, (req, res) => { servers.adopt(req, res) })
  }

  /** Runs the pipeline once; every call, concurrent or later, gets the same report. */
  shutdown (reason = 'shutdown()'): Promise<ShutdownReport> {
    if (typeof reason !== 'string') throw invalid('shutdown(reason)', 'a string', reason)
    if (this.#run) return this.#run
    // #run is set before the pipeline starts, so a listener of its first (synchronous) steps that
    // calls shutdown() gets this same promise.
    let start!: (report: Promise<ShutdownReport>) => void
    this.#run = new Promise((resolve) => { start = resolve })
    this.#parts.budgetWarnings.cancel()
    start(runShutdown({ ...this.#parts, coordinator: this, unsubscribeSignals: this.#unsubscribeSignals }, reason))
    return this.#run
  }

  /** Requests this coordinator's servers are serving right now (probes excluded), for the in-flight gauge. */
  get [kInFlight] (): number {
    return this.#parts.servers.inFlight
  }

  /** Startup is over: every startup task resolved and every added server listens. */
  #onStarted (): void {
    if (this.state !== 'starting') return
    // What cannot work as configured is said before anyone is told the instance runs (PM2's 'ready').
    this.#parts.budgetWarnings.nowIfDue()
    this.#parts.lifecycle.setState('running')
  }

  /** A startup task failed: the normal pipeline runs and, as after a signal, the process exits (1). */
  #onStartupFailure (reason: string): void {
    this.#parts.lifecycle.exitWhenStopped = true
    void this.shutdown(reason)
  }

  #assertRegistering (what: string): void {
    if (!this.#parts.lifecycle.serving) throw tooLate(what, this.state)
  }
}

/** Creates a coordinator. Options are validated here; a bad one throws at once, naming itself. */
export function createGraceful (options?: GracefulOptions): Graceful {
  return new Graceful(options)
}
