import type http from 'node:http'
import type { Socket } from 'node:net'
import { wrapMethod } from '../wrap.js'

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
  type Emit = (this: http.Server, event: string | symbol, ...args: unknown[]) => boolean
  return wrapMethod(server, 'emit', (emit) => function refusingEmit (this: http.Server, ...[event, ...args]: Parameters<Emit>): boolean {
    if (event !== 'upgrade') return (emit as Emit).call(this, event, ...args)
    const socket = args[1] as Socket
    socket.on('error', () => {})
    onRefused(socket)
    socket.end(REFUSAL)
    return true
  } as typeof server.emit)
}

/**
 * Calls `onUpgrade` for each upgrade request of `server`, before the application's listener.
 * Listening to 'upgrade' would stop Node from destroying upgrade requests nobody handles, so this
 * joins only once the application listens itself. Returns the undo.
 */
export function watchUpgrades (server: http.Server, onUpgrade: (req: http.IncomingMessage, socket: Socket) => void): () => void {
  const join = (): void => {
    server.off('newListener', onNewListener)
    server.prependListener('upgrade', onUpgrade)
  }
  const onNewListener = (event: string | symbol): void => {
    if (event === 'upgrade') join()
  }
  if (server.listenerCount('upgrade') > 0) join()
  else server.on('newListener', onNewListener)
  return () => {
    server.off('newListener', onNewListener)
    server.off('upgrade', onUpgrade)
  }
}
