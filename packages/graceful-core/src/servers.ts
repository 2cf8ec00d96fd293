import type { Drainer, DrainWatcher } from './drain/contract.js'
import { type FetchHandler, FetchServerDrainer } from './drain/fetch-server.js'
import { isNativeServer, type NativeServer } from './drain/native-server.js'
import { type DrainableServer, isDrainableServer } from './drain/node-http.js'
import { ServerDrainer } from './drain/server-drainer.js'
import { GracefulStateError, tooLate } from './errors.js'
import { invalid } from './validate.js'
import type { Lifecycle } from './lifecycle.js'
import { claimServer, releaseServer } from './process-runs.js'
import type { Probes } from './probes.js'
import type { StartupGate } from './startup.js'
import { type Runtime, runtimeWarnings } from './platform/runtime.js'
import type { Logger } from './types.js'

/** What the servers need of the rest of the coordinator. */
export interface ServerSetParts {
  readonly lifecycle: Lifecycle
  readonly probes: Probes
  readonly startupGate: StartupGate
  readonly logger: Logger
  /** A request that is not a probe arrived while draining (it keeps a traffic-aware pre-stop open). */
  readonly onTraffic: () => void
  /** What does not hold for node:http servers on this runtime (platform/runtime.ts), said when the first one is added. */
  readonly runtime: Runtime
  /** Connections accepted during pre-stop stay keep-alive until the drain (false: every response then says `Connection: close`). */
  readonly keepAliveInPreStop: boolean
}

/**
 * The servers a coordinator drains, each with its drainer: node:http, node:https and node:http2
 * servers one by one, and every fetch handler and native server (Bun.serve(), Deno.serve()) under
 * one FetchServerDrainer. `owner` is the coordinator: a server belongs to one in the process.
 */
export class ServerSet {
  readonly #nodeDrainers = new Map<DrainableServer, ServerDrainer>()
  readonly #parts: ServerSetParts
  readonly #owner: object
  readonly #watcher: DrainWatcher
  #fetchDrainer: FetchServerDrainer | undefined
  #warnedOfRuntime = false
  /** The server of the last request adopted: its drainer listens for its requests, so the next one needs nothing. */
  #lastAdopted: DrainableServer | undefined

  constructor (owner: object, parts: ServerSetParts) {
    this.#owner = owner
    this.#parts = parts
    this.#watcher = {
      isProbe: (req) => parts.probes.isProbePath(req.url),
      onTraffic: parts.onTraffic,
      onListenerClosedByOther: () => { this.#warnOfEarlyClose() }
    }
  }

  /** Every drainer, for the run: one per node server, then the one of the fetch handlers. */
  get drainers (): Drainer[] {
    const drainers: Drainer[] = [...this.#nodeDrainers.values()]
    if (this.#fetchDrainer !== undefined) drainers.push(this.#fetchDrainer)
    return drainers
  }

  /** Requests in progress on every server right now (probes excluded). */
  get inFlight (): number {
    let requests = 0
    for (const drainer of this.drainers) requests += drainer.inFlight
    return requests
  }

  add (server: DrainableServer | NativeServer): void {
    const native = isNativeServer(server)
    if (!native && !isDrainableServer(server)) throw invalid('addServer(server)', 'a node:http, node:https or node:http2 server, or the server of Bun.serve() or Deno.serve()', server)
    if (!native && this.#nodeDrainers.has(server)) return
    const { lifecycle } = this.#parts
    if (lifecycle.drain.signal.aborted) throw tooLate('addServer()', lifecycle.state)
    if (native) {
      this.#fetchServers().add(server)
      return
    }
    if (!claimServer(server, this.#owner)) {
      throw new GracefulStateError('addServer(server): another graceful coordinator already drains this server; use one coordinator per server ' +
        '(coordinators on different servers are fine: one signal starts them all and the process exits once every one has finished)')
    }
    this.#track(server)
  }

  fetchHandler<H extends FetchHandler> (handler: H): H {
    if (typeof handler !== 'function') throw invalid('fetchHandler(handler)', 'a function (request, ...) => Response, such as app.fetch', handler)
    return this.#fetchServers().wrap(handler)
  }

  /**
   * A request on a server that may not be added yet (a middleware door's, see AdoptRequest): the
   * server is added on its first request. Once the drain began it is too late to add a server: the
   * request is still served, untracked.
   */
  adopt (req: Parameters<ServerDrainer['adoptRequest']>[0], res: Parameters<ServerDrainer['adoptRequest']>[1]): void {
    const server = (req.socket as { server?: DrainableServer }).server
    // Every request after a server's first takes this branch: one comparison, nothing to do.
    if (server === this.#lastAdopted) return
    const known = server === undefined ? undefined : this.#nodeDrainers.get(server)
    if (known !== undefined) {
      this.#lastAdopted = server
      return known.adoptRequest(req, res)
    }
    if (!isDrainableServer(server) || this.#parts.lifecycle.drain.signal.aborted) return
    // Another coordinator drains this server (two middleware on one app): its coordinator tracks the request.
    if (!claimServer(server, this.#owner)) return
    this.#lastAdopted = server
    this.#track(server).adoptRequest(req, res)
  }

  /**
   * Shutdown began: each connection open now announces `Connection: close` once, on its first
   * response after its turn, the turns spread over `spreadMs` (CloseSchedule); returns the requests in flight.
   */
  announceClose (spreadMs = 0): number {
    const inFlight = this.inFlight
    for (const drainer of this.drainers) drainer.announceClose(spreadMs)
    return inFlight
  }

  /** The drain begins: every response from now on announces `Connection: close` (before `drainSignal` aborts, so those ended on it do too). */
  closeEveryConnection (spareUntil: number): void {
    for (const drainer of this.drainers) drainer.closeEveryConnection(spareUntil)
  }

  /** A drain that failed half-way must not leave connections open: the process could not exit. */
  cutAll (): void {
    for (const drainer of this.drainers) {
      drainer.closeAndReap()
      drainer.destroyRemaining()
    }
  }

  /** The run is over: every install is removed, and the servers can be drained by another coordinator. */
  detachAll (): void {
    for (const [server, drainer] of this.#nodeDrainers) {
      drainer.detach()
      releaseServer(server, this.#owner)
    }
    this.#fetchDrainer?.detach()
  }

  /** The one drainer of every fetch handler and native server, made on first use. */
  #fetchServers (): FetchServerDrainer {
    if (this.#fetchDrainer !== undefined) return this.#fetchDrainer
    const { probes, logger, lifecycle } = this.#parts
    const drainer = this.#fetchDrainer = new FetchServerDrainer({
      ...this.#watcher, probeKind: (method, path) => probes.kindOf(method, path), probe: (kind) => probes.answer(kind), logger
    })
    if (!lifecycle.serving) drainer.announceClose()
    return drainer
  }

  /** Drains a node server (claimed for this coordinator) from now on. */
  #track (server: DrainableServer): ServerDrainer {
    this.#warnOfRuntime()
    const drainer = new ServerDrainer(server, this.#watcher, { keepAliveInPreStop: this.#parts.keepAliveInPreStop })
    this.#nodeDrainers.set(server, drainer)
    const { lifecycle, startupGate } = this.#parts
    if (lifecycle.state === 'starting') startupGate.watch(server)
    else if (lifecycle.state !== 'running') drainer.announceClose()
    return drainer
  }

  /** Bun and Deno: what their node:http layer cannot do as Node.js does, once (native servers have their own ways). */
  #warnOfRuntime (): void {
    if (this.#warnedOfRuntime) return
    this.#warnedOfRuntime = true
    const { runtime, logger } = this.#parts
    for (const message of runtimeWarnings(runtime)) logger.warn({ runtime }, message)
  }

  /** Someone else closed an added server's listener before the drain did. */
  #warnOfEarlyClose (): void {
    const { lifecycle, logger } = this.#parts
    if (lifecycle.serving || lifecycle.drain.signal.aborted) return
    logger.warn({ state: lifecycle.state },
      'the server stopped listening before the drain: something else closed it (another SIGTERM handler?), so new connections were refused before the load balancer caught up')
  }
}
