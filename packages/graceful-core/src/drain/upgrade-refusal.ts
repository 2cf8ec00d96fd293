import type http from 'node:http'
import type { Socket } from 'node:net'

/** Seconds a refused upgrade is told to wait: by then the load balancer sends the retry elsewhere. */
const RETRY_AFTER_S = 1
const REFUSAL = 'HTTP/1.1 503 Service Unavailable\r\n' +
  `Retry-After: ${RETRY_AFTER_S}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`

/**
 * From now on, upgrade requests (WebSocket handshakes) on `server` get 503 with `Retry-After` and
 * `Connection: close` instead of reaching the application, which would accept a connection only to
 * close it again. Listeners cannot veto one another, so the server's own `emit` is wrapped for
 * 'upgrade' while draining. `onRefused` gets the socket (to await its close). Returns the undo.
 */
export function refuseUpgrades (server: http.Server, onRefused: (socket: Socket) => void): () => void {
  const own = Object.prototype.hasOwnProperty.call(server, 'emit') ? server.emit : undefined
  const emit = server.emit as (this: http.Server, event: string | symbol, ...args: unknown[]) => boolean
  server.emit = function (this: http.Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'upgrade') return emit.call(this, event, ...args)
    const socket = args[1] as Socket
    socket.on('error', () => {})
    onRefused(socket)
    socket.end(REFUSAL)
    return true
  } as typeof server.emit
  return () => {
    if (own === undefined) delete (server as Partial<http.Server>).emit
    else server.emit = own
  }
}
