import type { ProbeAnswer, ProbeKind } from '../probes.js'
import type { Logger } from '../types.js'
import { isThenable } from '../validate.js'
import type { DrainCounts, Drainer, DrainWatcher } from './contract.js'
import { cutConnections, type NativeServer, onServerStop, stopAccepting } from './native-server.js'

/**
 * A fetch handler: Hono's `app.fetch`, or any `(request, ...) => Response`; Bun passes its server,
 * Deno its connection info. What it returns is passed on; only a Response is marked and counted
 * (Bun's handler returns nothing after `server.upgrade()`).
 */
export type FetchHandler = (request: Request, ...rest: any[]) => unknown

/** What the fetch drainer asks of the coordinator besides a drain watcher's: the probes. */
export interface FetchWatcher extends Omit<DrainWatcher, 'isProbe'> {
  probeKind (method: string, path: string): ProbeKind | undefined
  probe (kind: ProbeKind): Promise<ProbeAnswer>
  /** Where a probe that failed to answer (answered 500), or a handler without a server, is logged. */
  readonly logger: Logger
}

/**
 * The Drainer of the servers that call a fetch handler (Bun.serve(), Deno.serve()). Neither runtime
 * shows its connections, so graceful sees requests, not sockets, through the handlers wrapped by
 * `wrap()`: it answers the probes, counts the requests in progress, tells pre-stop of the traffic,
 * and marks every response `Connection: close` once shutdown began. The drain is the servers' own
 * graceful stop (stopAccepting: the listener closes, idle connections end, requests in progress are
 * awaited); at the deadline the connections left are cut (cutConnections), and the requests still
 * in progress are counted as destroyed.
 *
 * One drainer per coordinator, for all its fetch handlers and native servers: a request is counted
 * once, whichever server it came through.
 */
export class FetchServerDrainer implements Drainer {
  readonly counts: DrainCounts = { closedIdle: 0, closedAfterResponse: 0, destroyed: 0, completed: 0, probesAnswered: 0, streamsEnded: 0, acceptedWhileClosing: 0 }
  readonly closed: Promise<void>
  readonly listener: { closedAt: number | undefined, closedByOther: boolean } = { closedAt: undefined, closedByOther: false }
  readonly #watcher: FetchWatcher
  /** Each server with the undo of the watch on its stop. */
  readonly #servers = new Map<NativeServer, () => void>()
  #phase: 'open' | 'draining' | 'closing' = 'open'
  #inFlight = 0
  #serversStopped = false
  #resolveClosed: (() => void) | undefined

  constructor (watcher: FetchWatcher) {
    this.#watcher = watcher
    this.closed = new Promise((resolve) => { this.#resolveClosed = resolve })
  }

  /** Drains this server too (until the drain began). */
  add (server: NativeServer): void {
    if (this.#servers.has(server)) return
    this.#servers.set(server, onServerStop(server, () => {
      this.listener.closedAt ??= performance.now()
      if (this.#phase === 'closing') return
      // Someone else stopped it (a SIGTERM handler of the application's own): not taken for ours.
      this.listener.closedByOther = true
      this.#watcher.onListenerClosedByOther()
    }))
  }

  get inFlight (): number {
    return this.#inFlight
  }

  /** The handler, answering the probes and seen by the drain; `this` and every argument are passed on. */
  wrap<H extends FetchHandler> (handler: H): H {
    const drainer = this
    return function gracefulFetch (this: unknown, request: Request, ...rest: unknown[]): unknown {
      const path = pathOfUrl(request.url)
      const kind = drainer.#watcher.probeKind(request.method, path)
      if (kind !== undefined) return drainer.#answerProbe(kind, request.method, path)
      if (drainer.#phase !== 'open') drainer.#watcher.onTraffic()
      drainer.#inFlight++
      let result: unknown
      try {
        result = handler.call(this, request, ...rest)
      } catch (error) {
        drainer.#settled()
        throw error
      }
      if (!isThenable(result)) return drainer.#answered(result)
      return Promise.resolve(result).then((response) => drainer.#answered(response), (error: unknown) => {
        drainer.#settled()
        throw error
      })
    } as H
  }

  /** Every response from now on announces `Connection: close`: requests here come without their connection, so there is no telling which were open at the signal. */
  announceClose (): void {
    if (this.#phase === 'open') this.#phase = 'draining'
  }

  closeEveryConnection (): void {
    this.announceClose()
  }

  /** Streaming responses are the application's to end (graceful.drainSignal); upgrades go on to the handler. */
  endLongLived (): void {}

  async closeListener (): Promise<void> {
    this.closeAndReap()
  }

  closeAndReap (): void {
    if (this.#phase === 'closing') return
    this.#phase = 'closing'
    this.listener.closedAt ??= performance.now()
    if (this.#servers.size === 0) {
      this.#watcher.logger.warn({}, 'fetchHandler() is in use but no server was added, so nothing stops listening: pass what Bun.serve() or Deno.serve() returned to graceful.addServer(server)')
    }
    void Promise.all([...this.#servers.keys()].map(stopAccepting)).then(() => {
      this.#serversStopped = true
      this.#checkDone()
    })
  }

  /** The requests still in progress are cut with their connections: each counts as destroyed. */
  destroyRemaining (): number {
    this.counts.destroyed += this.#inFlight
    for (const server of this.#servers.keys()) cutConnections(server)
    return 0
  }

  detach (): void {
    for (const unwatch of this.#servers.values()) unwatch()
  }

  /** A request's handler returned its response (nothing, from Bun after `server.upgrade()`). */
  #answered (response: unknown): unknown {
    this.#settled()
    if (this.#phase === 'open' || !(response instanceof Response)) return response
    this.counts.completed++
    return closingConnection(response)
  }

  /** A request's handler is done, answered or failed. */
  #settled (): void {
    this.#inFlight--
    this.#checkDone()
  }

  async #answerProbe (kind: ProbeKind, method: string, path: string): Promise<Response> {
    try {
      const answer = await this.#watcher.probe(kind)
      if (this.#phase !== 'open') this.counts.probesAnswered++
      const body = method === 'HEAD' ? null : JSON.stringify(answer.body)
      const response = new Response(body, { status: answer.statusCode, headers: answer.headers })
      return this.#phase === 'open' ? response : closingConnection(response)
    } catch (error) {
      this.#watcher.logger.error({ err: error, url: path }, 'probe failed to answer')
      return new Response(null, { status: 500 })
    }
  }

  #checkDone (): void {
    if (this.#phase === 'closing' && this.#serversStopped && this.#inFlight === 0) this.#resolveClosed?.()
  }
}

/** The path of an absolute request URL (`http://host/path?query` → `/path`), without parsing it whole. */
function pathOfUrl (url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start === -1) return '/'
  const end = url.indexOf('?', start)
  return end === -1 ? url.slice(start) : url.slice(start, end)
}

/**
 * The response, announcing `Connection: close`: Bun then closes the connection after it; Deno sends
 * the header but leaves the close to the client (HTTP/1.1 clients close on it). A switch of
 * protocols (a WebSocket upgrade) is left alone. Headers of a fetched response are immutable: such a
 * response is copied.
 */
function closingConnection (response: Response): Response {
  if (response.status === 101) return response
  try {
    response.headers.set('connection', 'close')
    return response
  } catch {
    const headers = new Headers(response.headers)
    headers.set('connection', 'close')
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers })
  }
}
