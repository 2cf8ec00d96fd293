import { invalid } from '../validate.js'

/** One WebSocket as `ws` models it (a `ws` WebSocket fits; so does anything shaped like it). */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed (the WebSocket standard's values). */
  readonly readyState: number
  close (code?: number, reason?: string): void
  terminate (): void
  once?: (event: 'close', listener: (code?: number) => void) => unknown
  addEventListener?: (event: 'close', listener: (event?: { code?: number }) => void, options?: { once?: boolean }) => void
}

/** A `ws` WebSocketServer, or anything whose `clients` are the open WebSockets (a getter is fine). */
export interface WebSocketServerLike {
  readonly clients: Iterable<WebSocketLike>
}

const CLOSING = 2
const CLOSED = 3
/** RFC 6455 §7.4.1: "an endpoint is going away, such as a server going down". */
const GOING_AWAY = 1001
/** IANA WebSocket close code registry: "Service Restart", the client may reconnect. */
export const SERVICE_RESTART = 1012
/** The reason sent with a close code (at most 123 bytes; for people reading a trace, clients go by the code). */
const REASONS: Readonly<Record<number, string>> = { [GOING_AWAY]: 'going away', [SERVICE_RESTART]: 'service restart' }

export interface WebSocketCounts {
  /** Clients whose close completed before the deadline (ours, or their own). */
  closed: number
  /** The completed closes by the code the server saw (the client echoes ours; its own when it closed first). */
  codes: Record<string, number>
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
 * The WebSockets of the registered servers, closed when the drain begins: LongLivedSpread decides
 * when each open client gets its close, and the handshake is awaited. Clients still open at the
 * drain deadline are terminated.
 */
export class WebSocketCloser {
  readonly counts: WebSocketCounts = { closed: 0, terminated: 0, codes: {} }
  readonly #servers = new Set<WebSocketServerLike>()
  readonly #open = new Set<WebSocketLike>()
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

  /** Watches every open client and hands its close (with `code`) to `schedule`, which decides when it runs. */
  closeAll (code: number, schedule: (ws: WebSocketLike, close: () => void) => void): void {
    const waits: Array<Promise<void>> = []
    for (const wss of this.#servers) {
      for (const ws of wss.clients) {
        if (!isWebSocket(ws) || ws.readyState === CLOSED || this.#open.has(ws)) continue
        this.#open.add(ws)
        waits.push(this.#closeOf(ws))
        if (ws.readyState === CLOSING) continue
        schedule(ws, () => { if (ws.readyState < CLOSING) ws.close(code, REASONS[code] ?? 'server shutting down') })
      }
    }
    this.#allClosed = Promise.all(waits).then(() => {})
  }

  /** Terminates every client whose close has not completed. */
  terminateRest (): void {
    for (const ws of this.#open) {
      this.#open.delete(ws)
      this.counts.terminated++
      ws.terminate()
    }
  }

  #closeOf (ws: WebSocketLike): Promise<void> {
    return new Promise((resolve) => {
      const onClose = (code: unknown): void => {
        // Already counted as terminated when the deadline came first.
        if (this.#open.delete(ws)) {
          this.counts.closed++
          const key = typeof code === 'number' ? String(code) : 'unknown'
          this.counts.codes[key] = (this.counts.codes[key] ?? 0) + 1
        }
        resolve()
      }
      // ws passes (code, reason); a standard WebSocket a CloseEvent.
      if (typeof ws.once === 'function') ws.once('close', onClose)
      else ws.addEventListener?.('close', (event) => { onClose(event?.code) }, { once: true })
    })
  }
}

/** A client we can close and watch; anything else is left to the drain deadline like any upgraded socket. */
function isWebSocket (ws: WebSocketLike): boolean {
  return typeof ws === 'object' && ws !== null && typeof ws.readyState === 'number' &&
    typeof ws.close === 'function' && typeof ws.terminate === 'function' &&
    (typeof ws.once === 'function' || typeof ws.addEventListener === 'function')
}
