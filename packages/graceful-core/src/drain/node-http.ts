import http from 'node:http'
import https from 'node:https'
import type { Http2Server, Http2SecureServer, Http2ServerResponse } from 'node:http2'
import { Server as NetServer, type Socket } from 'node:net'
import { wrapMethod } from '../wrap.js'

/** Any server graceful can drain: node:http, node:https or node:http2 (cleartext or TLS). */
export type DrainableServer = http.Server | https.Server | Http2Server | Http2SecureServer

/** node:http and node:https servers by class; node:http2 servers (whose classes are not exported) by their settings method. */
export function isDrainableServer (server: unknown): server is DrainableServer {
  return server instanceof http.Server || server instanceof https.Server ||
    (server instanceof NetServer && typeof (server as { updateSettings?: unknown }).updateSettings === 'function')
}

/** True for node:http and node:https servers (HTTP/1, with sockets and upgrades); false for node:http2. */
export function isHttp1Server (server: DrainableServer): server is http.Server | https.Server {
  return server instanceof http.Server || server instanceof https.Server
}

/** Makes an HTTP/1 response close its connection after it, if its headers are not sent yet (HTTP/2 has no such header). */
export function announceCloseOn (res: http.ServerResponse | Http2ServerResponse): void {
  if (!res.headersSent && res.req.httpVersionMajor < 2) res.setHeader('Connection', 'close')
}

/**
 * The response a node:http socket is writing right now (`socket._httpMessage`: set when a request's
 * response is assigned to its socket, cleared when that response finished; pipelined responses
 * wait their turn). Every Node release has it, and libraries that drain servers read it too; it is
 * checked on the first request before graceful relies on it (see ServerDrainer).
 */
export function responseOn (socket: Socket): http.ServerResponse | null | undefined {
  return (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage
}

type ConnectionsList = Partial<Record<'all' | 'active' | 'idle', () => Array<{ socket?: Socket }>>>

/**
 * A node:http server's own connection list: `all` of them (to adopt sockets accepted before we
 * listened), the `active` ones (a request, or its first byte, is being received), or the `idle` ones. Node keeps it
 * under a symbol, so it is feature-detected; without it, sockets opened earlier are left to
 * closeAllConnections() at the deadline, and half-received requests may be ended as idle.
 */
export function nodeConnections (server: DrainableServer, which: 'all' | 'active' | 'idle'): Socket[] {
  const key = Object.getOwnPropertySymbols(server).find((symbol) => symbol.description === 'http.server.connections')
  const list = key === undefined ? undefined : (server as unknown as Record<symbol, ConnectionsList | undefined>)[key]
  const read = list?.[which]
  if (typeof read !== 'function') return []
  return read.call(list).flatMap((parser) => (parser.socket && !parser.socket.destroyed ? [parser.socket] : []))
}

/**
 * Stops the server listening: server.close(), whose closeIdleConnections() ends the idle keep-alive
 * sockets, except those that have not received a byte yet and those `spare` names. Node 26 counts a
 * connection accepted a moment ago, whose request is still unread, as idle: destroying it resets a
 * client that already sent its request. The drain's reaper gives such a connection its grace, and
 * the spared ones theirs (IdleReaper).
 */
export function stopListening (server: DrainableServer, callback: (error?: Error) => void, spare: (socket: Socket) => boolean = () => false): void {
  if (!isHttp1Server(server)) {
    server.close(callback)
    return
  }
  const restore = wrapMethod(server as http.Server, 'closeIdleConnections', () => function closeIdleExceptNew () {
    for (const socket of nodeConnections(server, 'idle')) {
      const response = responseOn(socket)
      if (socket.bytesRead > 0 && (response == null || response.finished) && !spare(socket)) socket.destroy()
    }
  })
  try {
    server.close(callback)
  } finally {
    restore()
  }
}

/**
 * Calls `onClose` when the listener stops accepting, the first time, whoever closes it. A server has
 * no event for that ('close' waits for every connection), so the instance's close() is wrapped.
 * Returns the undo.
 */
export function onListenerClose (server: DrainableServer, onClose: () => void): () => void {
  let seen = false
  return wrapMethod(server as http.Server, 'close', (close) => function watchedClose (this: http.Server, ...args: Parameters<http.Server['close']>) {
    if (this.listening && !seen) {
      seen = true
      onClose()
    }
    return close.apply(this, args)
  })
}

/** Whether a response's head says `Connection: close` (the drain's, or the application's own). */
export function saidClose (res: http.ServerResponse | Http2ServerResponse): boolean {
  return /\bclose\b/i.test(String(res.getHeader('connection') ?? ''))
}

/**
 * How long the drain leaves a connection kept alive through pre-stop idle: a client still sending on
 * it does so well within a second, and a load balancer that has caught up sends nothing more, so
 * waiting out a long keepAliveTimeout (fastify's is 72 s) would only hold the exit. Never longer than
 * the server's own keepAliveTimeout, when Node ends it anyway.
 */
const KEPT_ALIVE_IDLE_MS = 1000

export function keptAliveIdleMs (server: DrainableServer): number {
  const ms = (server as http.Server).keepAliveTimeout
  return typeof ms === 'number' && ms > 0 ? Math.min(ms, KEPT_ALIVE_IDLE_MS) : KEPT_ALIVE_IDLE_MS
}
