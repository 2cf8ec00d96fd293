import http from 'node:http'
import https from 'node:https'
import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2'
import type { Socket } from 'node:net'

/** Any server graceful can drain: node:http, node:https or node:http2 (cleartext or TLS). */
export type DrainableServer = http.Server | https.Server | import('node:http2').Http2Server | import('node:http2').Http2SecureServer

type Request = http.IncomingMessage | Http2ServerRequest
type Response = http.ServerResponse | Http2ServerResponse

/**
 * A connection that has not sent a byte is treated as idle only after this long, so a client that
 * connected just before the listener closed still gets to send its request (Go's net/http does the
 * same for StateNew connections, golang/go#22682).
 */
const NEW_CONNECTION_GRACE_MS = 500
/** Reaping after close() polls with backoff, because Node reaps idle sockets only once (Go: 1 ms → 500 ms). */
const POLL_FIRST_MS = 1
const POLL_MAX_MS = 500

interface Connection {
  /** Requests received and not yet answered (more than one when pipelined). */
  active: number
  /** socket.bytesRead when the last response ended: more bytes since then means a request is arriving. */
  readMark: number
  readonly openedAt: number
  servedDuringDrain: boolean
  forced: boolean
  /**
   * Open before we tracked the server: whether it carries a request is unknown until one arrives, so
   * only Node's closeIdleConnections() may end it, unless it never sent a byte.
   */
  foreign: boolean
}

export interface DrainCounts {
  closedIdle: number
  closedAfterResponse: number
  forced: number
  /** Responses that ended after draining began. */
  completed: number
}

/**
 * Tracks one server's sockets, requests, upgraded sockets and HTTP/2 sessions, and drains them:
 * `startDraining()` makes every response announce `Connection: close`; `close()` stops listening and
 * ends each socket as soon as it is idle (at once, on each response's end, and on a backoff poll);
 * `forceClose()` destroys what is left. Bookkeeping per request is O(1), with no timer per socket.
 */
export class ServerDrainer {
  readonly server: DrainableServer
  readonly counts: DrainCounts = { closedIdle: 0, closedAfterResponse: 0, forced: 0, completed: 0 }
  readonly #http1: boolean
  readonly #onRequestSeen: (req: Request) => void
  readonly #connections = new Map<Socket, Connection>()
  readonly #responses = new Set<Response>()
  readonly #upgraded = new Set<Socket>()
  readonly #sessions = new Set<Http2Session>()
  #phase: 'open' | 'draining' | 'closing' = 'open'
  #listenerClosed = false
  #upgradeHooked = false
  #pollTimer: NodeJS.Timeout | undefined
  #pollDelayMs = POLL_FIRST_MS
  /** performance.now() of the last accepted connection or HTTP/2 session. */
  lastAcceptAt = 0
  #resolveClosed: (() => void) | undefined
  readonly closed: Promise<void>

  constructor (server: DrainableServer, onRequestSeen: (req: Request) => void) {
    this.server = server
    this.#onRequestSeen = onRequestSeen
    this.#http1 = server instanceof http.Server || server instanceof https.Server
    this.closed = new Promise((resolve) => { this.#resolveClosed = resolve })
    const emitter = server as http.Server
    if (this.#http1) {
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
    for (const socket of openSockets(server)) this.#track(socket).foreign = true
  }

  /** Requests in progress right now. */
  get inFlight (): number {
    return this.#responses.size
  }

  /** From now on every HTTP/1 response announces `Connection: close`, in-flight ones included if their headers are not sent yet. */
  startDraining (): void {
    if (this.#phase !== 'open') return
    this.#phase = 'draining'
    for (const res of this.#responses) this.#announceClose(res)
  }

  /** Stops listening and ends connections as they become idle; `closed` resolves when none is left. */
  close (): void {
    if (this.#phase === 'closing') return
    this.startDraining()
    this.#phase = 'closing'
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
    for (const [socket, connection] of this.#connections) {
      if (socket.destroyed) continue
      connection.forced = true
      this.counts.forced++
      socket.destroy()
    }
    for (const socket of this.#upgraded) {
      this.counts.forced++
      this.#upgraded.delete(socket)
      socket.destroy()
    }
    for (const session of this.#sessions) {
      this.counts.forced++
      this.#sessions.delete(session)
      session.destroy()
    }
    // Sockets we never saw (opened before addServer) are still in Node's own list.
    const server = this.server as Partial<http.Server>
    server.closeAllConnections?.()
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
    clearTimeout(this.#pollTimer)
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

  #onConnection = (socket: Socket): void => {
    this.lastAcceptAt = performance.now()
    this.#track(socket)
  }

  #track (socket: Socket): Connection {
    const connection: Connection = { active: 0, readMark: socket.bytesRead, openedAt: Date.now(), servedDuringDrain: false, forced: false, foreign: false }
    this.#connections.set(socket, connection)
    socket.once('close', () => {
      if (this.#connections.get(socket) !== connection) return
      this.#connections.delete(socket)
      if (this.#phase !== 'open' && !connection.forced) {
        if (connection.servedDuringDrain) this.counts.closedAfterResponse++
        else this.counts.closedIdle++
      }
      this.#checkDone()
    })
    return connection
  }

  #onSession = (session: Http2Session): void => {
    this.lastAcceptAt = performance.now()
    this.#sessions.add(session)
    if (this.#phase === 'closing') session.close()
    session.once('close', () => {
      if (!this.#sessions.delete(session)) return
      if (this.#phase !== 'open') this.counts.closedAfterResponse++
      this.#checkDone()
    })
  }

  /**
   * Takes over a request whose 'request' event fired before this drainer listened (the request that
   * made an express middleware find its server).
   */
  adoptRequest (req: Request, res: Response): void {
    if (!this.#responses.has(res)) this.#onRequest(req, res)
  }

  #onRequest = (req: Request, res: Response): void => {
    this.#onRequestSeen(req)
    this.#responses.add(res)
    let connection: Connection | undefined
    if (req.httpVersionMajor < 2) {
      const socket = req.socket as Socket
      connection = this.#connections.get(socket) ?? this.#track(socket)
      connection.foreign = false
      connection.active++
      if (this.#phase !== 'open') this.#announceClose(res)
    }
    res.once('close', () => {
      this.#responses.delete(res)
      if (this.#phase !== 'open' && res.writableFinished) this.counts.completed++
      if (!connection) return
      connection.active--
      connection.readMark = (req.socket as Socket).bytesRead
      if (this.#phase === 'open') return
      connection.servedDuringDrain = true
      if (this.#phase === 'closing') this.#reapIfIdle(req.socket as Socket, connection, Date.now())
    })
  }

  #onUpgrade = (req: http.IncomingMessage, socket: Socket): void => {
    this.#onRequestSeen(req)
    // Node hands an upgraded socket to the application and forgets it: closeAllConnections() never
    // sees it, so we keep it until it closes and destroy it at the deadline.
    this.#connections.delete(socket)
    this.#upgraded.add(socket)
    socket.once('close', () => {
      if (!this.#upgraded.delete(socket)) return
      if (this.#phase !== 'open') this.counts.closedAfterResponse++
      this.#checkDone()
    })
  }

  #announceClose (res: Response): void {
    if (!res.headersSent && 'shouldKeepAlive' in res) res.setHeader('Connection', 'close')
  }

  #reapIfIdle (socket: Socket, connection: Connection, now: number): void {
    if (connection.active > 0 || socket.destroyed || socket.bytesRead !== connection.readMark) return
    if (connection.foreign && connection.readMark > 0) return
    if (connection.readMark === 0 && now - connection.openedAt < NEW_CONNECTION_GRACE_MS) return
    // Everything we wrote has reached the OS ('close' of the response came after 'finish'); end
    // with FIN once the socket's own buffer is flushed.
    if (socket.writableLength === 0) socket.destroy()
    else socket.end(() => socket.destroy())
  }

  #reapIdle (): void {
    const now = Date.now()
    for (const [socket, connection] of this.#connections) this.#reapIfIdle(socket, connection, now)
    // Sockets that served requests before addServer are only in Node's list.
    ;(this.server as Partial<http.Server>).closeIdleConnections?.()
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
      this.#connections.size === 0 && this.#upgraded.size === 0 && this.#sessions.size === 0
  }

  #checkDone (): void {
    if (!this.#isDone()) return
    clearTimeout(this.#pollTimer)
    this.#resolveClosed?.()
  }
}

/**
 * Sockets a node:http server accepted before we listened, from its own connection list (feature-
 * detected: Node keeps it under a symbol; without it, such sockets are left to closeIdleConnections()
 * and, at the deadline, closeAllConnections()).
 */
function openSockets (server: DrainableServer): Socket[] {
  const key = Object.getOwnPropertySymbols(server).find((symbol) => symbol.description === 'http.server.connections')
  const list = key === undefined ? undefined : (server as unknown as Record<symbol, { all?: () => Array<{ socket?: Socket }> }>)[key]
  if (typeof list?.all !== 'function') return []
  return list.all().flatMap((parser) => (parser.socket && !parser.socket.destroyed ? [parser.socket] : []))
}
