import type http from 'node:http'
import https from 'node:https'
import type { Http2Session } from 'node:http2'
import type { Socket } from 'node:net'
import { CloseSchedule } from './close-schedule.js'
import { ConnectedSockets } from './connected-sockets.js'
import type { DrainCounts, Drainer, DrainWatcher } from './contract.js'
import { Http2Sessions } from './http2-sessions.js'
import { IdleReaper } from './idle-reaper.js'
import { closeListener as closeWhenQueueEmpty, type ListenerCloseMethod } from './listener-close.js'
import { ListenerWatch } from './listener-watch.js'
import { LongLivedTraffic } from './long-lived-traffic.js'
import { announceCloseOn, type DrainableServer, isHttp1Server, nodeConnections, stopListening } from './node-http.js'
import { type Request, RequestsInProgress, type Response } from './requests.js'

/**
 * The Drainer of a node:http, node:https or node:http2 server: tracks its sockets, requests,
 * upgraded sockets and HTTP/2 sessions. `closeListener()` closes the listener once its accept queue
 * is empty (listener-close.ts), then `closeAndReap()` ends each socket as soon as it is idle (at
 * once, whenever a response ends, and on a backoff poll). `Connection: close` follows a schedule
 * (CloseSchedule); upgraded sockets and event streams are LongLivedTraffic.
 *
 * Cheap while the server runs: see ConnectedSockets and RequestsInProgress.
 */
export class ServerDrainer implements Drainer {
  readonly server: DrainableServer
  readonly counts: DrainCounts = { closedIdle: 0, closedAfterResponse: 0, destroyed: 0, completed: 0, probesAnswered: 0, streamsEnded: 0, acceptedWhileClosing: 0 }
  /** Resolves when the listener is closed and no connection is left. */
  readonly closed: Promise<void>
  readonly listener: ListenerWatch
  readonly #watcher: DrainWatcher
  readonly #sockets = new ConnectedSockets()
  readonly #requests: RequestsInProgress
  readonly #schedule: CloseSchedule
  readonly #longLived: LongLivedTraffic
  readonly #sessions = new Http2Sessions(() => {
    if (this.#phase !== 'open') this.counts.closedAfterResponse++
    this.#checkDone()
  })
  /** Sockets that finished a response after draining began: their close counts as "after response". */
  readonly #servedDuringDrain = new WeakSet<Socket>()
  readonly #reaper = new IdleReaper(() => !this.#isDone(), (socket) => { this.#socketClosed(socket) })
  /**
   * `preStop` from announceClose(), `draining` from closeEveryConnection() (every response
   * announces the close), `closing` from closeAndReap() (the listener is closed).
   */
  #phase: 'open' | 'preStop' | 'draining' | 'closing' = 'open'
  #listenerClosed = false
  #resolveClosed: (() => void) | undefined

  constructor (server: DrainableServer, watcher: DrainWatcher, { keepAliveInPreStop = true }: { keepAliveInPreStop?: boolean } = {}) {
    this.server = server
    this.#watcher = watcher
    this.#schedule = new CloseSchedule(server, keepAliveInPreStop)
    this.#requests = new RequestsInProgress(this.#onResponseClose)
    this.closed = new Promise((resolve) => { this.#resolveClosed = resolve })
    const emitter = server as http.Server
    if (isHttp1Server(server)) {
      emitter.on(server instanceof https.Server ? 'secureConnection' : 'connection', this.#onConnection)
    } else {
      emitter.on('session', this.#onSession)
    }
    // Prepended so Connection: close is set before a synchronous handler writes its headers.
    emitter.prependListener('request', this.#onRequest)
    this.#longLived = new LongLivedTraffic(server, {
      upgraded: (socket, refused) => { this.#upgraded(socket, refused) },
      streamEnded: () => { this.counts.streamsEnded++ }
    })
    for (const socket of nodeConnections(server, 'all')) this.#sockets.add(socket)
    this.listener = new ListenerWatch(server, this.counts, () => this.#phase === 'closing', () => { watcher.onListenerClosedByOther() })
  }

  /** Requests in progress right now. */
  get inFlight (): number {
    let requests = 0
    for (const res of this.#requests.inProgress(this.#sockets)) if (!this.#watcher.isProbe(res.req)) requests++
    return requests
  }

  /**
   * Shutdown began: `Connection: close` as CloseSchedule says (the turns of the connections open now
   * spread over `spreadMs`, those busy now first); a response in progress whose turn came announces
   * it at once, if its headers are not sent yet.
   */
  announceClose (spreadMs = 0): void {
    if (this.#phase !== 'open') return
    this.#phase = 'preStop'
    this.#sockets.sweep()
    if (this.#requests.startTracking(this.#sockets)) (this.server as http.Server).prependListener('request', this.#onRequest)
    const inProgress = [...this.#requests.inProgress(this.#sockets)]
    const busy = new Set(inProgress.map((res) => res.req.socket as Socket))
    this.#schedule.keepNewConnections(spreadMs, busy, [...this.#sockets].filter((socket) => !busy.has(socket)))
    for (const res of inProgress) this.#announceOn(res)
  }

  /** The drain begins (see LongLivedTraffic.end()). Apart from closeAndReap(): not after the queue settled. */
  endLongLived (spread: (stream: Response, end: () => void) => void = (_, end) => { end() }): void {
    this.#longLived.end(this.#requests.inProgress(this.#sockets), spread)
  }

  /**
   * The drain begins: every HTTP/1 response from now on announces `Connection: close`, those in
   * progress whose headers are not sent yet included. A connection kept alive through pre-stop and
   * idle now is not ended at once: a client that does not know this instance is leaving (nginx
   * without health checks) may be sending on it, and a request that meets the close fails where it
   * cannot be retried (a POST). It leaves through its next response, or once idle for a second
   * (CloseSchedule.idleMsAfter()), at the latest at `spareUntil`.
   */
  closeEveryConnection (spareUntil?: number): void {
    this.announceClose()
    if (spareUntil !== undefined) this.#reaper.limitSpares(spareUntil)
    if (this.#phase !== 'preStop') return
    this.#phase = 'draining'
    this.#schedule.closeAll()
    for (const res of this.#requests.inProgress(this.#sockets)) announceCloseOn(res)
  }

  closeListener (until: number, force: AbortSignal): Promise<ListenerCloseMethod> {
    this.closeEveryConnection()
    return closeWhenQueueEmpty(this, until, force)
  }

  /** Stops listening and ends connections as they become idle; `closed` resolves when none is left. */
  closeAndReap (): void {
    if (this.#phase === 'closing') return
    this.closeEveryConnection()
    this.#phase = 'closing'
    // Node (≥ 19) ends the idle keep-alive connections in here (closeIdleConnections()); see stopListening.
    stopListening(this.server, () => {
      // Also called with ERR_SERVER_NOT_RUNNING when the server was closed already: fine either way.
      this.#listenerClosed = true
      this.#checkDone()
    }, (socket) => this.#reaper.spares(socket))
    this.#sessions.closeAll()
    // A socket in the middle of receiving a request is not idle until that request is answered.
    const receiving = new Set(nodeConnections(this.server, 'active'))
    for (const socket of this.#sockets) {
      if (socket.destroyed) this.#socketClosed(socket)
      else if (!this.#reaper.has(socket)) this.#watch(socket, receiving.has(socket) && socket.bytesRead > 0)
    }
    this.#reaper.start()
    this.#checkDone()
  }

  /** Destroys every remaining connection, upgraded socket and HTTP/2 session; returns how many upgraded sockets were among them. */
  destroyRemaining (): number {
    const upgraded = this.#longLived.open
    for (const socket of [...this.#sockets, ...this.#longLived.upgraded]) {
      if (socket.destroyed) { this.#socketClosed(socket); continue }
      this.#forget(socket)
      this.counts.destroyed++
      socket.destroy()
    }
    this.counts.destroyed += this.#sessions.destroyAll()
    // Sockets we never saw (opened before addServer where Node's list is not readable) are still in Node's own list.
    ;(this.server as Partial<http.Server>).closeAllConnections?.()
    this.#checkDone()
    return upgraded
  }

  /** Removes every listener this drainer added and stops its poll. */
  detach (): void {
    const emitter = this.server as http.Server
    emitter.off('connection', this.#onConnection)
    emitter.off('secureConnection', this.#onConnection)
    emitter.off('session', this.#onSession)
    emitter.off('request', this.#onRequest)
    this.#longLived.detach()
    this.#reaper.stop()
    this.listener.detach()
  }

  /** Takes over a request whose 'request' event fired before this drainer listened (an express middleware's first). */
  adoptRequest (req: Request, res: Response): void {
    if (!this.#requests.has(res)) this.#onRequest(req, res)
  }

  #onConnection = (socket: Socket): void => {
    this.listener.accepted()
    this.#sockets.add(socket)
    if (this.#phase === 'open') {
      this.#sockets.sweepIfGrown()
      return
    }
    this.#schedule.accepted(socket)
    this.#watch(socket)
  }

  /**
   * Each socket that draining finds in use, or that connects while draining, gets state and its
   * close is counted (never on the hot path). The others are counted when the listener closes:
   * Node's close() ends them then, or their clients closed them before.
   */
  #watch (socket: Socket, receiving = false): void {
    this.#reaper.watch(socket, receiving)
    socket.on('close', this.#onSocketClose)
  }

  /** Shared by every watched socket ('close' fires once): `this` is the socket. */
  #onSocketClose = ((drainer: ServerDrainer) => function onSocketClose (this: Socket): void {
    drainer.#socketClosed(this)
  })(this)

  /**
   * A socket is gone once destroyed: its descriptor is closed (Node's own connection count drops
   * then too). Its 'close' event follows a turn of the event loop later, for each socket one by one.
   */
  #socketClosed (socket: Socket): void {
    this.#reaper.forget(socket)
    if (!this.#forget(socket) || this.#phase === 'open') return
    if (this.#servedDuringDrain.has(socket)) this.counts.closedAfterResponse++
    else this.counts.closedIdle++
    this.#checkDone()
  }

  /** Removes a socket from the registries; false when it was already gone (counted as destroyed). */
  #forget (socket: Socket): boolean {
    return this.#sockets.delete(socket) || this.#longLived.upgraded.delete(socket)
  }

  #onSession = (session: Http2Session): void => {
    this.listener.accepted()
    this.#sessions.add(session)
  }

  /**
   * Counts an HTTP/1 request on its socket (watched from now on if we had not seen it) and announces
   * the close on its response, as the schedule says.
   */
  #announceOn (res: Response): void {
    if (res.req.httpVersionMajor >= 2) return
    const socket = res.req.socket as Socket
    this.#schedule.announceOn(res)
    if (!this.#reaper.has(socket) && !socket.destroyed) {
      this.#sockets.add(socket)
      this.#watch(socket)
    }
    this.#reaper.requestStarted(socket)
  }

  #onRequest = (req: Request, res: Response): void => {
    if (this.#phase === 'open' && !this.#requests.trackedWhileRunning(req, res, this.#stopListening)) return
    if (this.#phase !== 'open' && !this.#watcher.isProbe(req)) this.#watcher.onTraffic()
    this.#requests.track(res)
    if (this.#phase !== 'open') this.#announceOn(res)
    this.#longLived.requestStarted(res)
  }

  /** Until announceClose(), when requests need not be tracked one by one. */
  #stopListening = (): void => { (this.server as http.Server).off('request', this.#onRequest) }

  /** Shared by every response ('close' fires once): `this` is the response. */
  #onResponseClose = ((drainer: ServerDrainer) => function onResponseClose (this: Response): void {
    drainer.#responseClosed(this)
  })(this)

  #responseClosed (res: Response): void {
    this.#requests.delete(res)
    if (this.#phase === 'open') return
    if (res.writableFinished) {
      if (this.#watcher.isProbe(res.req)) this.counts.probesAnswered++
      else this.counts.completed++
    }
    if (res.req.httpVersionMajor >= 2) return
    const socket = res.req.socket as Socket
    // A pipelined request received before draining began gets the socket now: track it first, so
    // the socket is not taken for idle.
    const next = this.#requests.untrackedSuccessor(socket)
    if (next) {
      this.#requests.track(next)
      this.#announceOn(next)
    }
    // Marked first: the reaper may end the socket at once. A response that kept its socket alive
    // through pre-stop leaves it idle: its later close is not one after a response.
    const keptAliveMs = this.#schedule.idleMsAfter(res)
    if (this.#reaper.has(socket) && keptAliveMs === undefined) this.#servedDuringDrain.add(socket)
    this.#reaper.responseEnded(socket, keptAliveMs)
  }

  /** An upgraded socket (LongLivedTraffic keeps it) is no HTTP connection any more; awaited until it closes. */
  #upgraded (socket: Socket, refused: boolean): void {
    if (!refused && this.#phase !== 'open') this.#watcher.onTraffic()
    this.#sockets.delete(socket)
    this.#reaper.forget(socket)
    if (refused) this.#servedDuringDrain.add(socket)
    socket.on('close', this.#onSocketClose)
  }

  #isDone (): boolean {
    return this.#phase === 'closing' && this.#listenerClosed &&
      this.#sockets.size === 0 && this.#longLived.upgraded.size === 0 && this.#sessions.size === 0
  }

  #checkDone (): void {
    if (!this.#isDone()) return
    this.#reaper.stop()
    this.#resolveClosed?.()
  }
}
