/**
 * The README's socket.io recipe: the transports are closed when the drain begins (WebSocket clients
 * with 1012 through graceful.addWebSocketServer, long-polling clients with engine.io's close), so
 * socket.io-client sees "transport close" and reconnects, through the load balancer, elsewhere. A
 * server-side disconnect would not do: socket.io-client never reconnects after it.
 */
import t, { type Test } from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Server } from 'socket.io'
import { io as connect, type Socket as ClientSocket } from 'socket.io-client'
import { WebSocketServer } from 'ws'
import { createGraceful, type Graceful } from 'graceful-core'
import { within } from './helpers/fixture.js'

interface Service { graceful: Graceful, io: Server, port: number }

/** An http server with socket.io set up as the README says. */
async function service (t: Test, recipe: (graceful: Graceful, io: Server) => void): Promise<Service> {
  const server = http.createServer()
  const graceful = createGraceful({ signals: [], exit: false, logger: false, preStopDelayMs: 200, gracePeriodMs: 20_000 })
  graceful.addServer(server)
  let io!: Server
  recipe(graceful, (io = new Server(server, {
    // engine.io makes its ws server without client tracking; this one tracks its clients and hands
    // itself to graceful, which closes them with 1012 when the drain begins.
    wsEngine: class extends WebSocketServer {
      constructor (options: ConstructorParameters<typeof WebSocketServer>[0]) {
        super({ ...options, clientTracking: true })
        graceful.addWebSocketServer(this)
      }
    }
  })))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => {
    await graceful.shutdown('teardown')
    io.close()
    server.closeAllConnections()
  })
  return { graceful, io, port: (server.address() as AddressInfo).port }
}

const closeTransports = (graceful: Graceful, io: Server): void => {
  graceful.drainSignal.addEventListener('abort', () => {
    for (const socket of io.sockets.sockets.values()) if (socket.conn.transport.name !== 'websocket') socket.conn.close()
  })
}

interface Client { socket: ClientSocket, events: string[], reconnecting: Promise<void> }

async function client (t: Test, port: number, transports: string[]): Promise<Client> {
  const socket = connect(`http://127.0.0.1:${port}`, { transports, reconnectionDelay: 50, reconnectionDelayMax: 100 })
  t.teardown(() => { socket.close() })
  await within(new Promise<void>((resolve) => socket.once('connect', () => resolve())), 5000, 'the socket.io connection')
  const events: string[] = []
  socket.on('disconnect', (reason) => { events.push(`disconnect: ${reason}`) })
  const reconnecting = new Promise<void>((resolve) => socket.io.once('reconnect_attempt', () => resolve()))
  return { socket, events, reconnecting }
}

t.test('socket.io clients see a transport close when the drain begins, not before, and reconnect; exit 0', async (t) => {
  const { graceful, port } = await service(t, closeTransports)
  const clients = [
    ...await Promise.all([1, 2, 3].map(() => client(t, port, ['websocket']))),
    await client(t, port, ['polling'])
  ]
  let connectedWhenDrainBegan = 0
  graceful.drainSignal.addEventListener('abort', () => { connectedWhenDrainBegan = clients.filter((c) => c.socket.connected).length })

  const report = await within(graceful.shutdown('test'), 20_000, 'the shutdown')
  t.equal(connectedWhenDrainBegan, 4, 'every client was still connected when pre-stop ended')
  for (const [i, c] of clients.entries()) {
    await within(c.reconnecting, 5000, `client ${i} to try to reconnect`)
    t.same(c.events, ['disconnect: transport close'], `client ${i} saw a transport close and is reconnecting`)
  }
  t.equal(report.exitCode, 0, 'exit 0')
  t.equal(report.longLived.webSocketsClosed, 3, 'the WebSocket transports were closed politely and counted')
  t.equal(report.sockets.destroyed, 0, 'nothing was forced')
})

t.test('a server-side socket.disconnect() would leave socket.io clients disconnected for good (why the recipe closes the transport)', async (t) => {
  const { graceful, port } = await service(t, (graceful, io) => {
    graceful.drainSignal.addEventListener('abort', () => { io.disconnectSockets(true) })
  })
  const c = await client(t, port, ['websocket'])
  let attempts = 0
  c.socket.io.on('reconnect_attempt', () => { attempts++ })
  await within(graceful.shutdown('test'), 20_000, 'the shutdown')
  await within((async () => { while (c.events.length === 0) await sleep(5) })(), 5000, 'the disconnect')
  // Ten times the client's reconnection delay: a reconnecting client would have tried by now.
  await sleep(500)
  t.same(c.events, ['disconnect: io server disconnect'], 'the client was told the server disconnected it')
  t.equal(attempts, 0, 'and does not try to reconnect')
})
