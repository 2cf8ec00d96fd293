import { invalid } from '../errors.js'

/** One WebSocket as `ws` models it (a `ws` WebSocket fits; so does anything shaped like it). */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed (the WebSocket standard's values). */
  readonly readyState: number
  close (code?: number, reason?: string): void
  terminate (): void
  once?: (event: 'close', listener: () => void) => unknown
  addEventListener?: (event: 'close', listener: () => void, options?: { once?: boolean }) => void
}

/** A `ws` WebSocketServer, or anything whose `clients` are the open WebSockets (a getter is fine). */
export interface WebSocketServerLike {
  readonly clients: Iterable<WebSocketLike>
}

const CLOSING = 2
const CLOSED = 3
/** RFC 6455 §7.4.1: "an endpoint is going away, such as a server going down". */
export const GOING_AWAY = 1001
/**
 * Closes are spread over a window so that the clients, which reconnect as soon as they see the close,
 * do not all reach the remaining instances in the same instant. At most this long, however large the
 * budget: a second is enough to flatten a reconnect storm and costs the drain little.
 */
const CLOSE_SPREAD_MAX_MS = 1000
/** ...and at most this share of the drain time left, so slow clients keep most of it for the handshake. */
const CLOSE_SPREAD_SHARE = 0.25

export interface WebSocketCounts {
  /** Clients whose close completed before the deadline (ours with 1001, or their own). */
  closed: number
  /** Clients still open at the deadline, terminated. */
  terminated: number
}

/** Checks at registration that `wss` looks like a WebSocket server, so a mistake fails at once rather than at shutdown. */
export function checkWebSocketServer (wss: unknown): WebSocketServerLike {
  const clients = typeof wss === 'object' && wss !== null ? (wss as { clients?: unknown }).clients : undefined
  const iterable = typeof clients === 'object' && clients !== null && typeof (clients as Iterable<unknown>)[Symbol.iterator] === 'function'
  if (!iterable) {
    const hint = typeof (wss as { handleUpgrade?: unknown } | null)?.handleUpgrade === 'function'
      ? ' (a ws WebSocketServer needs clientTracking: true)'
      : ''
    throw invalid('addWebSocketServer(wss)',
      `a ws WebSocketServer or an object whose clients is an iterable of WebSockets (readyState, close(code, reason), terminate(), 'close' events)${hint}`, wss)
  }
  return wss as WebSocketServerLike
}

/**
 * The WebSockets of the registered servers, closed when the drain begins: each open client gets
 * close 1001 "going away" at a random moment of a short window, and the close handshake is
 * awaited. Clients still open at the drain deadline are terminated.
 */
export class WebSocketCloser {
  readonly counts: WebSocketCounts = { closed: 0, terminated: 0 }
  readonly #servers = new Set<WebSocketServerLike>()
  readonly #open = new Set<WebSocketLike>()
  readonly #timers = new Set<NodeJS.Timeout>()
  #allClosed: Promise<void> = Promise.resolve()

  add (wss: WebSocketServerLike): void {
    this.#servers.add(wss)
  }

  /** How many WebSocket servers are registered. */
  get servers (): number {
    return this.#servers.size
  }

  /** Resolves once every client seen at `closeAll()` has closed. */
  get closed (): Promise<void> {
    return this.#allClosed
  }

  /** Starts the polite closes, spread over min(1 s, a quarter of `budgetMs`). */
  closeAll (budgetMs: number): void {
    const spreadMs = Math.max(0, Math.min(CLOSE_SPREAD_MAX_MS, budgetMs * CLOSE_SPREAD_SHARE))
    const waits: Array<Promise<void>> = []
    for (const wss of this.#servers) {
      for (const ws of wss.clients) {
        if (!isWebSocket(ws) || ws.readyState === CLOSED || this.#open.has(ws)) continue
        this.#open.add(ws)
        waits.push(this.#closeOf(ws))
        if (ws.readyState === CLOSING) continue
        const timer = setTimeout(() => {
          this.#timers.delete(timer)
          if (ws.readyState < CLOSING) ws.close(GOING_AWAY, 'going away')
        }, Math.random() * spreadMs)
        this.#timers.add(timer)
      }
    }
    this.#allClosed = Promise.all(waits).then(() => {})
  }

  /** Terminates every client whose close has not completed. */
  terminateRest (): void {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    for (const ws of this.#open) {
      this.#open.delete(ws)
      this.counts.terminated++
      ws.terminate()
    }
  }

  #closeOf (ws: WebSocketLike): Promise<void> {
    return new Promise((resolve) => {
      const onClose = (): void => {
        // Already counted as terminated when the deadline came first.
        if (this.#open.delete(ws)) this.counts.closed++
        resolve()
      }
      if (typeof ws.once === 'function') ws.once('close', onClose)
      else ws.addEventListener?.('close', onClose, { once: true })
    })
  }
}

/** A client we can close and watch; anything else is left to the drain deadline like any upgraded socket. */
function isWebSocket (ws: WebSocketLike): boolean {
  return typeof ws === 'object' && ws !== null && typeof ws.readyState === 'number' &&
    typeof ws.close === 'function' && typeof ws.terminate === 'function' &&
    (typeof ws.once === 'function' || typeof ws.addEventListener === 'function')
}
