import type { Socket } from 'node:net'

/**
 * A connection that has not sent a byte is ended only once reaping has run this long, so a client
 * that connected just before the listener closed still gets to send its request (Go's net/http
 * gives new connections the same grace, golang/go#22682).
 */
const SILENT_CONNECTION_GRACE_MS = 500
/** Reaping polls with backoff, because Node reaps idle sockets only once (Go: 1 ms → 500 ms). */
const POLL_FIRST_MS = 1
const POLL_MAX_MS = 500

/** What the drain knows of one HTTP/1 socket. */
interface SocketState {
  /** Requests received and not yet answered (more than one when pipelined). */
  active: number
  /** socket.bytesRead when its last response ended: more bytes since then means a request is arriving. */
  readMark: number
  /**
   * performance.now() until which the socket is not ended as idle: a connection kept alive through
   * pre-stop is left a moment after its last response (ServerDrainer).
   */
  spareUntil: number
}

/**
 * HTTP/1 sockets from draining on: the requests in progress on each, and, once reaping started,
 * the end of each socket as soon as it is idle (when a response ends, and on a backoff poll).
 * Node's close() ends the sockets idle at that moment (closeIdleConnections(), see stopListening);
 * those busy then, receiving a request, or new and silent, are the reaper's.
 */
export class IdleReaper {
  readonly #sockets = new Map<Socket, SocketState>()
  readonly #keepPolling: () => boolean
  readonly #onEnded: (socket: Socket) => void
  #reaping = false
  #startedAt = 0
  #pollTimer: NodeJS.Timeout | undefined
  #pollDelayMs = POLL_FIRST_MS
  /** No socket is spared past this (performance clock): the drain keeps time to end them as idle. */
  #spareLimit = Number.POSITIVE_INFINITY

  /** `keepPolling` says whether anything is left to wait for; `onEnded` hears of each socket this reaper destroyed. */
  constructor (keepPolling: () => boolean, onEnded: (socket: Socket) => void) {
    this.#keepPolling = keepPolling
    this.#onEnded = onEnded
  }

  has (socket: Socket): boolean {
    return this.#sockets.has(socket)
  }

  /** Starts tracking a socket; `receiving` when a request is arriving on it right now (not idle). */
  watch (socket: Socket, receiving = false): void {
    this.#sockets.set(socket, { active: 0, readMark: receiving ? -1 : socket.bytesRead, spareUntil: 0 })
  }

  /** True while an idle socket is spared (SocketState.spareUntil): Node's own close of idle connections must leave it too. */
  spares (socket: Socket): boolean {
    const state = this.#sockets.get(socket)
    return state !== undefined && this.#spared(state)
  }

  /** From now on no socket is spared past `until` (performance clock). */
  limitSpares (until: number): void {
    this.#spareLimit = Math.min(this.#spareLimit, until)
  }

  forget (socket: Socket): void {
    this.#sockets.delete(socket)
  }

  /** A request arrived on `socket`. */
  requestStarted (socket: Socket): void {
    const state = this.#sockets.get(socket)
    if (state) state.active++
  }

  /** A response on `socket` ended: the socket may be idle now; it is spared `spareMs` (kept alive through pre-stop). */
  responseEnded (socket: Socket, spareMs = 0): void {
    const state = this.#sockets.get(socket)
    if (!state) return
    state.active--
    state.readMark = socket.bytesRead
    state.spareUntil = spareMs > 0 ? performance.now() + spareMs : 0
    // A keep-alive response whose headers went out before the drain: end it at once rather than after keepAliveTimeout.
    if (this.#reaping) this.#reapIfIdle(socket, state)
  }

  /** Ends every idle socket now, then each one as it becomes idle. */
  start (): void {
    if (this.#reaping) return
    this.#reaping = true
    this.#startedAt = performance.now()
    this.#reapAll()
    this.#schedulePoll()
  }

  stop (): void {
    clearTimeout(this.#pollTimer)
  }

  /** Ends a socket that carries no request and has received nothing since its last response. */
  #reapIfIdle (socket: Socket, state: SocketState): void {
    if (state.active > 0 || socket.destroyed || socket.bytesRead !== state.readMark) return
    if (state.readMark === 0 && performance.now() - this.#startedAt < SILENT_CONNECTION_GRACE_MS) return
    if (this.#spared(state)) return
    // What we wrote has reached the OS (a response's 'close' comes after its 'finish'): a FIN now.
    if (socket.writableLength === 0) this.#destroy(socket)
    else socket.end(() => { this.#destroy(socket) })
  }

  #spared (state: SocketState): boolean {
    return Math.min(state.spareUntil, this.#spareLimit) > performance.now()
  }

  #destroy (socket: Socket): void {
    socket.destroy()
    this.#sockets.delete(socket)
    this.#onEnded(socket)
  }

  #reapAll (): void {
    for (const [socket, state] of this.#sockets) this.#reapIfIdle(socket, state)
  }

  #schedulePoll (): void {
    this.#pollTimer = setTimeout(() => {
      this.#reapAll()
      this.#pollDelayMs = Math.min(this.#pollDelayMs * 2, POLL_MAX_MS)
      if (this.#keepPolling()) this.#schedulePoll()
    }, this.#pollDelayMs).unref()
  }
}
