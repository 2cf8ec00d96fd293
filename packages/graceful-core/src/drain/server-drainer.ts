import http from 'node:http'
import https from 'node:https'
import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2'
import type { Socket } from 'node:net'
import { endEventStream, isEventStream, whenEventStream } from './event-streams.js'
import { refuseUpgrades } from './upgrade-refusal.js'

/** Any server graceful can drain: node:http, node:https or node:http2 (cleartext or TLS). */
export type DrainableServer = http.Server | https.Server | import('node:http2').Http2Server | import('node:http2').Http2SecureServer

type Request = http.IncomingMessage | Http2ServerRequest
type Response = http.ServerResponse | Http2ServerResponse

/**
 * A connection that has not sent a byte is ended only once the drain has run this long, so a client
 * that connected just before the listener closed still gets to send its request (Go's net/http
 * gives new connections the same grace, golang/go#22682).
 */
const SILENT_CONNECTION_GRACE_MS = 500
/** Reaping after close() polls with backoff, because Node reaps idle sockets only once (Go: 1 ms → 500 ms). */
const POLL_FIRST_MS = 1
const POLL_MAX_MS = 500
/** While running, closed sockets leave the registry in sweeps, when it has grown this much since the last. */
const SWEEP_GROWTH = 2
const SWEEP_MIN_SIZE = 1024

export interface DrainCounts {
  closedIdle: number
  closedAfterResponse: number
  forced: number
  /** Responses that ended after draining began. */
  completed: number
  /** Server-sent-event responses ended by the drain (see endLongLived()). */
  streamsEnded: number
  /** Connections (HTTP/2 sessions) accepted after beginDrain(), until the listener closed. */
  acceptedAfterDrainBegan: number
}

/** What the drain knows of one socket; kept only from draining on. */
interface DrainingSocket {
  /** Requests received and not yet answered (more than one when pipelined). */
  active: number
  /** socket.bytesRead when its last response ended: more bytes since then means a request is arriving. */
  readMark: number
}

/**
 * Tracks one server's sockets, requests, upgraded sockets and HTTP/2 sessions, and drains them:
 * `startDraining()` makes every response announce `Connection: close`; `close()` stops listening and
 * ends each socket as soon as it is idle (at once, whenever a response ends, and on a backoff poll);
 * `forceClose()` destroys what is left.
 *
 * Cheap while the server runs: a socket costs one Set entry (no listener, no object, no timer), a
 * request a Set entry and one shared listener. Per-socket state (requests in progress, bytes read)
 * exists only once draining began. Node's closeIdleConnections() is not used while draining: it
 * would end a socket whose pipelined responses are ended but still queued.
 */
export class ServerDrainer {
  readonly server: DrainableServer
  readonly counts: DrainCounts = { closedIdle: 0, closedAfterResponse: 0, forced: 0, completed: 0, streamsEnded: 0, acceptedAfterDrainBegan: 0 }
  /** performance.now() of the last accepted connection or HTTP/2 session. */
  lastAcceptAt = 0
  /** Resolves when the listener is closed and no connection is left. */
  readonly closed: Promise<void>
  /** performance.now() when the listener stopped accepting, by our close() or anyone else's. */
  listenerClosedAt: number | undefined
  /** True when something else (another SIGTERM handler, the application) closed the listener before the drain did. */
  listenerClosedByOther = false
  readonly #onRequestSeen: (req: Request) => void
  readonly #sockets = new Set<Socket>()
  readonly #responses = new Set<Response>()
  readonly #upgraded = new Set<Socket>()
  readonly #sessions = new Set<Http2Session>()
  /** Sockets that finished a response after draining began: their close counts as "after response". */
  readonly #servedDuringDrain = new WeakSet<Socket>()
  readonly #draining = new Map<Socket, DrainingSocket>()
  #sweepAt = SWEEP_MIN_SIZE
  #phase: 'open' | 'draining' | 'closing' = 'open'
  #closeStartedAt = 0
  #listenerClosed = false
  #drainBegan = false
  #upgradeHooked = false
  #pollTimer: NodeJS.Timeout | undefined
  #pollDelayMs = POLL_FIRST_MS
  #resolveClosed: (() => void) | undefined
  #restoreClose: () => void = () => {}
  /** Set by endLongLived(): event streams are ended, upgrades refused; the function undoes the refusal. */
  #longLivedEnded: (() => void) | undefined

  constructor (server: DrainableServer, onRequestSeen: (req: Request) => void, onListenerClosedByOther: () => void = () => {}) {
    this.server = server
    this.#onRequestSeen = onRequestSeen
    this.closed = new Promise((resolve) => { this.#resolveClosed = resolve })
    const emitter = server as http.Server
    if (server instanceof http.Server || server instanceof https.Server) {
      emitter.on(server instanceof https.Server ? 'secureConnection' : 'connection', this.#onConnection)
    } else {
      emitter.on('session', this.#onSession)
    }
    // Prepended so Connection: close is set before a synchronous handler writes its headers.
    emitter.prependListener('request', this.#onRequest)
    // Listening to 'upgrade' would stop Node from destroying upgrade requests nobody handles,
    // so we join only once the application listens itself.
    if (emitter.listenerCount('upgrade') > 0) this.#hookUpgrade()
    else emitter.on('newListener', this.#onNewListener)
    for (const socket of nodeConnections(server, 'all')) this.#sockets.add(socket)
    this.#watchListenerClose(server, onListenerClosedByOther)
  }

  /**
   * A server has no event for "stopped listening" ('close' waits for every connection), so the
   * instance's close() is wrapped: the report then says when the listener really closed, and a close
   * by someone else during shutdown (NestJS enableShutdownHooks(), a library's SIGTERM handler) is
   * noticed instead of being taken for ours.
   */
  #watchListenerClose (server: DrainableServer, onClosedByOther: () => void): void {
    const own = Object.getOwnPropertyDescriptor(server, 'close')
    const close = server.close
    const drainer = this
    const wrapped = function closeListener (this: DrainableServer, ...args: unknown[]): unknown {
      if (drainer.listenerClosedAt === undefined && server.listening) {
        drainer.listenerClosedAt = performance.now()
        if (drainer.#phase !== 'closing') {
          drainer.listenerClosedByOther = true
          onClosedByOther()
        }
      }
      return Reflect.apply(close, this, args)
    }
    ;(server as { close: unknown }).close = wrapped
    this.#restoreClose = () => {
      if (server.close !== wrapped) return
      if (own) Object.defineProperty(server, 'close', own)
      else delete (server as { close?: unknown }).close
    }
  }

  /** Requests in progress right now. */
  get inFlight (): number {
    return this.#responses.size
  }

  /** From now on every HTTP/1 response announces `Connection: close`, in-flight ones included if their headers are not sent yet. */
  startDraining (): void {
    if (this.#phase !== 'open') return
    this.#phase = 'draining'
    this.#sweep()
    // A socket in the middle of receiving a request is not idle until that request is answered.
    const receiving = new Set(nodeConnections(this.server, 'active'))
    for (const socket of this.#sockets) this.#watch(socket, receiving.has(socket) && socket.bytesRead > 0)
    for (const res of this.#responses) {
      announceClose(res)
      const state = this.#stateOf(res)
      if (state) state.active++
    }
  }

  /**
   * The drain begins (pre-stop is over): event streams in progress, and those that start from now
   * on, get a `retry:` hint and end; upgrade requests get 503. Kept apart from close() so that it
   * happens at once, not after the accept queue settled.
   */
  endLongLived (): void {
    if (this.#longLivedEnded) return
    this.#longLivedEnded = this.server instanceof http.Server || this.server instanceof https.Server
      ? refuseUpgrades(this.server, this.#onUpgradeRefused)
      : () => {}
    for (const res of this.#responses) this.#endEventStream(res)
  }

  /** Stops listening and ends connections as they become idle; `closed` resolves when none is left. */
  close (): void {
    if (this.#phase === 'closing') return
    this.startDraining()
    this.#phase = 'closing'
    this.#closeStartedAt = performance.now()
    this.server.close(() => {
      // Also called with ERR_SERVER_NOT_RUNNING when the server was closed already: fine either way.
      this.#listenerClosed = true
      this.#checkDone()
    })
    for (const session of this.#sessions) session.close()
    this.#reapIdle()
    this.#schedulePoll()
    this.#checkDone()
  }

  /** Destroys every remaining connection, upgraded socket and HTTP/2 session. */
  forceClose (): void {
    for (const socket of [...this.#sockets, ...this.#upgraded]) {
      this.#forget(socket)
      if (socket.destroyed) continue
      this.counts.forced++
      socket.destroy()
    }
    for (const session of this.#sessions) {
      this.#sessions.delete(session)
      this.counts.forced++
      session.destroy()
    }
    // Sockets we never saw (opened before addServer where Node's list is not readable) are still in Node's own list.
    ;(this.server as Partial<http.Server>).closeAllConnections?.()
    this.#checkDone()
  }

  /** Removes every listener this drainer added and stops its poll. */
  detach (): void {
    const emitter = this.server as http.Server
    emitter.off('connection', this.#onConnection)
    emitter.off('secureConnection', this.#onConnection)
    emitter.off('session', this.#onSession)
    emitter.off('request', this.#onRequest)
    emitter.off('upgrade', this.#onUpgrade)
    emitter.off('newListener', this.#onNewListener)
    this.#longLivedEnded?.()
    clearTimeout(this.#pollTimer)
    this.#restoreClose()
  }

  /**
   * Takes over a request whose 'request' event fired before this drainer listened (the request that
   * made an express middleware find its server).
   */
  adoptRequest (req: Request, res: Response): void {
    if (!this.#responses.has(res)) this.#onRequest(req, res)
  }

  #onNewListener = (event: string | symbol): void => {
    if (event === 'upgrade') this.#hookUpgrade()
  }

  #hookUpgrade (): void {
    if (this.#upgradeHooked) return
    this.#upgradeHooked = true
    ;(this.server as http.Server).off('newListener', this.#onNewListener)
    ;(this.server as http.Server).prependListener('upgrade', this.#onUpgrade)
  }

  /** The drain phase began: connections accepted from now on are counted (acceptedAfterDrainBegan). */
  beginDrain (): void {
    this.#drainBegan = true
  }

  #onConnection = (socket: Socket): void => {
    this.lastAcceptAt = performance.now()
    if (this.#drainBegan) this.counts.acceptedAfterDrainBegan++
    this.#sockets.add(socket)
    if (this.#phase !== 'open') this.#watch(socket)
    else if (this.#sockets.size >= this.#sweepAt) this.#sweep()
  }

  /** Drops closed sockets; amortised O(1) per connection, with no listener on the socket. */
  #sweep (): void {
    for (const socket of this.#sockets) if (socket.destroyed) this.#sockets.delete(socket)
    this.#sweepAt = Math.max(SWEEP_MIN_SIZE, this.#sockets.size * SWEEP_GROWTH)
  }

  /** From draining on, each socket has state and its close is counted (never on the hot path). */
  #watch (socket: Socket, receiving = false): void {
    this.#draining.set(socket, { active: 0, readMark: receiving ? -1 : socket.bytesRead })
    this.#watchClose(socket)
  }

  #watchClose (socket: Socket): void {
    socket.on('close', this.#onSocketClose)
  }

  /** Shared by every watched socket ('close' fires once): `this` is the socket. */
  #onSocketClose = ((drainer: ServerDrainer) => function onSocketClose (this: Socket): void {
    drainer.#socketClosed(this)
  })(this)

  #socketClosed (socket: Socket): void {
    this.#draining.delete(socket)
    if (!this.#forget(socket) || this.#phase === 'open') return
    if (this.#servedDuringDrain.has(socket)) this.counts.closedAfterResponse++
    else this.counts.closedIdle++
    this.#checkDone()
  }

  /** Removes a socket from the registries; false when it was already gone (counted as forced). */
  #forget (socket: Socket): boolean {
    return this.#sockets.delete(socket) || this.#upgraded.delete(socket)
  }

  #onSession = (session: Http2Session): void => {
    this.lastAcceptAt = performance.now()
    if (this.#drainBegan) this.counts.acceptedAfterDrainBegan++
    this.#sessions.add(session)
    if (this.#phase === 'closing') session.close()
    session.once('close', () => {
      if (!this.#sessions.delete(session)) return
      if (this.#phase !== 'open') this.counts.closedAfterResponse++
      this.#checkDone()
    })
  }

  /** The drain state of an HTTP/1 response's socket (created for a socket we had not seen). */
  #stateOf (res: Response): DrainingSocket | undefined {
    if (res.req.httpVersionMajor >= 2) return undefined
    const socket = res.req.socket as Socket
    if (!this.#draining.has(socket) && !socket.destroyed) {
      this.#sockets.add(socket)
      this.#watch(socket)
    }
    return this.#draining.get(socket)
  }

  #onRequest = (req: Request, res: Response): void => {
    this.#onRequestSeen(req)
    this.#responses.add(res)
    if (this.#phase !== 'open') {
      announceClose(res)
      const state = this.#stateOf(res)
      if (state) state.active++
    }
    if (this.#longLivedEnded) this.#endEventStream(res)
    ;(res as http.ServerResponse).on('close', this.#onResponseClose)
  }

  /** Shared by every response ('close' fires once): `this` is the response. */
  #onResponseClose = ((drainer: ServerDrainer) => function onResponseClose (this: Response): void {
    drainer.#responseClosed(this)
  })(this)

  #responseClosed (res: Response): void {
    this.#responses.delete(res)
    if (this.#phase === 'open') return
    if (res.writableFinished) this.counts.completed++
    const socket = res.req.socket as Socket
    const state = this.#draining.get(socket)
    if (!state) return
    state.active--
    state.readMark = socket.bytesRead
    this.#servedDuringDrain.add(socket)
    // The socket may be idle now (a keep-alive response whose headers went out before the drain):
    // end it at once rather than after keepAliveTimeout.
    if (this.#phase === 'closing') this.#reapIfIdle(socket, state)
  }

  #onUpgrade = (req: http.IncomingMessage, socket: Socket): void => {
    this.#onRequestSeen(req)
    // Node hands an upgraded socket to the application and forgets it: closeAllConnections() never
    // sees it, so we keep it until it closes and destroy it at the deadline.
    this.#sockets.delete(socket)
    this.#upgraded.add(socket)
    this.#draining.delete(socket)
    this.#watchClose(socket)
  }

  /** Ends `res` now if it is an event stream, or once its headers say it is one. */
  #endEventStream (res: Response): void {
    if (!res.headersSent) whenEventStream(res, (stream) => this.#endEventStream(stream))
    else if (isEventStream(res) && endEventStream(res)) this.counts.streamsEnded++
  }

  /** An upgrade refused with 503 while draining: its socket is awaited until it closes. */
  #onUpgradeRefused = (socket: Socket): void => {
    this.#sockets.delete(socket)
    this.#draining.delete(socket)
    this.#upgraded.add(socket)
    this.#servedDuringDrain.add(socket)
    this.#watchClose(socket)
  }

  /** Ends a socket that carries no request and has received nothing since its last response. */
  #reapIfIdle (socket: Socket, state: DrainingSocket): void {
    if (state.active > 0 || socket.destroyed || socket.bytesRead !== state.readMark) return
    if (state.readMark === 0 && performance.now() - this.#closeStartedAt < SILENT_CONNECTION_GRACE_MS) return
    // What we wrote has reached the OS (a response's 'close' comes after its 'finish'): a FIN now.
    if (socket.writableLength === 0) socket.destroy()
    else socket.end(() => socket.destroy())
  }

  #reapIdle (): void {
    for (const [socket, state] of this.#draining) this.#reapIfIdle(socket, state)
  }

  #schedulePoll (): void {
    this.#pollTimer = setTimeout(() => {
      this.#reapIdle()
      this.#pollDelayMs = Math.min(this.#pollDelayMs * 2, POLL_MAX_MS)
      if (!this.#isDone()) this.#schedulePoll()
    }, this.#pollDelayMs).unref()
  }

  #isDone (): boolean {
    return this.#phase === 'closing' && this.#listenerClosed &&
      this.#sockets.size === 0 && this.#upgraded.size === 0 && this.#sessions.size === 0
  }

  #checkDone (): void {
    if (!this.#isDone()) return
    clearTimeout(this.#pollTimer)
    this.#resolveClosed?.()
  }
}

/** Makes an HTTP/1 response close its connection after it, if its headers are not sent yet (HTTP/2 has no such header). */
function announceClose (res: Response): void {
  if (!res.headersSent && res.req.httpVersionMajor < 2) res.setHeader('Connection', 'close')
}

type ConnectionsList = Partial<Record<'all' | 'active', () => Array<{ socket?: Socket }>>>

/**
 * A node:http server's own connection list: `all` of them (to adopt sockets accepted before we
 * listened), or the `active` ones (a request, or its first byte, is being received). Node keeps it
 * under a symbol, so it is feature-detected; without it, sockets opened earlier are left to
 * closeAllConnections() at the deadline, and half-received requests may be ended as idle.
 */
function nodeConnections (server: DrainableServer, which: 'all' | 'active'): Socket[] {
  const key = Object.getOwnPropertySymbols(server).find((symbol) => symbol.description === 'http.server.connections')
  const list = key === undefined ? undefined : (server as unknown as Record<symbol, ConnectionsList | undefined>)[key]
  const read = list?.[which]
  if (typeof read !== 'function') return []
  return read.call(list).flatMap((parser) => (parser.socket && !parser.socket.destroyed ? [parser.socket] : []))
}
