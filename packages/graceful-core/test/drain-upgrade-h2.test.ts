/**
 * Connections Node's http server does not manage for us: upgraded sockets (WebSocket-style, after a
 * 101) and HTTP/2 sessions (h2c). Polite closes (application hook / GOAWAY) are not forced; anything
 * still open at the drain deadline is destroyed and counted as forced.
 */
import t, { type Test } from 'tap'
import http from 'node:http'
import http2 from 'node:http2'
import net from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { coordinator, listen } from './helpers/raw-http.js'


const UPGRADE_REQUEST = 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n'
const SWITCHING = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n'

/** Opens an upgraded connection and waits for the 101; returns the client socket. */
async function upgradedClient (t: Test, port: number): Promise<{ socket: net.Socket, closed: Promise<boolean>, data: () => string }> {
  const socket = net.connect(port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  socket.on('error', () => {})
  let data = ''
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => { data += chunk })
  const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)))
  await once(socket, 'connect')
  socket.write(UPGRADE_REQUEST)
  const until = performance.now() + 3000
  while (!data.includes('\r\n\r\n') && performance.now() < until) await sleep(5)
  t.match(data, /^HTTP\/1\.1 101 /, 'upgraded (precondition)')
  return { socket, closed, data: () => data }
}

for (const order of ['upgrade listener added before addServer', 'upgrade listener added after addServer']) {
  t.test(`an upgraded socket that stays open is destroyed at the deadline and counted as forced (${order})`, async (t) => {
    const server = http.createServer((_req, res) => res.end('ok'))
    const serverSockets: net.Socket[] = []
    const onUpgrade = (_req: http.IncomingMessage, socket: net.Socket): void => {
      serverSockets.push(socket)
      socket.on('error', () => {})
      socket.write(SWITCHING)
    }
    const graceful = coordinator(t, { gracePeriodMs: 1000 })
    if (order.includes('before')) {
      server.on('upgrade', onUpgrade)
      graceful.addServer(server)
    } else {
      graceful.addServer(server)
      server.on('upgrade', onUpgrade)
    }
    const port = await listen(t, server)
    const client = await upgradedClient(t, port)

    const start = performance.now()
    const report = await graceful.shutdown('test')
    const took = performance.now() - start
    t.ok(took < 3000, `shutdown ended at the deadline (${Math.round(took)} ms, gracePeriodMs 1000)`)
    t.equal(report.sockets.destroyed, 1, 'the upgraded socket is counted as forced')
    t.equal(report.exitCode, 1)
    t.equal(serverSockets[0]?.destroyed, true, 'the server side was destroyed')
    t.ok(await Promise.race([client.closed, sleep(2000, false)]), 'the client saw the connection close')
  })
}

t.test('an upgraded socket closed politely when graceful.signal aborts is not forced', async (t) => {
  const server = http.createServer((_req, res) => res.end('ok'))
  const graceful = coordinator(t, { gracePeriodMs: 10_000 })
  server.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket) => {
    socket.on('error', () => {})
    socket.write(SWITCHING)
    // What a WebSocket server does with a 1001 close frame: say goodbye, then end.
    graceful.signal.addEventListener('abort', () => socket.end('bye'), { once: true })
  })
  graceful.addServer(server)
  const port = await listen(t, server)
  const client = await upgradedClient(t, port)

  const start = performance.now()
  const report = await graceful.shutdown('test')
  const took = performance.now() - start
  t.ok(took < 5000, `shutdown did not wait for the deadline (${Math.round(took)} ms of 10 s)`)
  t.equal(report.sockets.destroyed, 0, 'closed politely, not forced')
  t.equal(report.sockets.closedAfterResponse + report.sockets.closedIdle, 1, 'counted once as closed')
  t.equal(report.exitCode, 0)
  t.ok(await Promise.race([client.closed, sleep(2000, false)]), 'the client saw the close')
  t.match(client.data(), /bye$/, 'the goodbye reached the client')
})

t.test('HTTP/2: an open stream completes, the session gets GOAWAY, and shutdown does not wait for the session', async (t) => {
  let started!: () => void
  const streamStarted = new Promise<void>((resolve) => { started = resolve })
  const timers = new Set<NodeJS.Timeout>()
  t.teardown(() => { for (const timer of timers) clearTimeout(timer) })
  const server = http2.createServer((req, res) => {
    if (req.url === '/slow') {
      started()
      const timer = setTimeout(() => res.end('slow done'), 300)
      timers.add(timer)
      return
    }
    res.end('ok')
  })
  const graceful = coordinator(t, { gracePeriodMs: 20_000 }).addServer(server)
  const port = await listen(t, server)

  const client = http2.connect(`http://127.0.0.1:${port}`)
  t.teardown(() => { client.destroy() })
  client.on('error', () => {})
  let goaway = false
  client.on('goaway', () => { goaway = true })
  const clientClosed = new Promise<boolean>((resolve) => client.once('close', () => resolve(true)))

  const stream = client.request({ ':path': '/slow' })
  stream.setEncoding('utf8')
  let body = ''
  let status: number | undefined
  stream.on('response', (headers) => { status = Number(headers[':status']) })
  stream.on('data', (chunk: string) => { body += chunk })
  stream.on('error', () => {})
  const streamEnded = once(stream, 'end').then(() => true, () => false)
  await streamStarted

  // A second session with no stream at all must not hold shutdown either.
  const idleClient = http2.connect(`http://127.0.0.1:${port}`)
  t.teardown(() => { idleClient.destroy() })
  idleClient.on('error', () => {})
  await once(idleClient, 'connect')
  const idleClosed = new Promise<boolean>((resolve) => idleClient.once('close', () => resolve(true)))

  const start = performance.now()
  const report = await graceful.shutdown('test')
  const took = performance.now() - start

  t.ok(await Promise.race([streamEnded, sleep(2000, false)]), 'the open stream ended normally')
  t.equal(status, 200)
  t.equal(body, 'slow done', 'the open stream completed')
  t.equal(goaway, true, "the client got GOAWAY ('goaway' event)")
  t.ok(took < 5000, `shutdown resolved without waiting for the sessions (${Math.round(took)} ms)`)
  t.ok(await Promise.race([clientClosed, sleep(2000, false)]), 'the busy session closed')
  t.ok(await Promise.race([idleClosed, sleep(2000, false)]), 'the idle session closed')
  t.equal(report.sockets.destroyed, 0)
  t.equal(report.exitCode, 0)
  t.equal(report.requests.inFlightAtSignal, 1)
  t.equal(report.requests.completedAfterSignal, 1)
})

t.test('HTTP/2: a stuck stream is destroyed at the deadline and counted as forced', async (t) => {
  let started!: () => void
  const streamStarted = new Promise<void>((resolve) => { started = resolve })
  const server = http2.createServer(() => { started() /* never answers */ })
  const graceful = coordinator(t, { gracePeriodMs: 1000 }).addServer(server)
  const port = await listen(t, server)

  const client = http2.connect(`http://127.0.0.1:${port}`)
  t.teardown(() => { client.destroy() })
  client.on('error', () => {})
  const stream = client.request({ ':path': '/stuck' })
  stream.on('error', () => {})
  stream.resume()
  const streamClosed = new Promise<boolean>((resolve) => stream.once('close', () => resolve(true)))
  await streamStarted

  const start = performance.now()
  const report = await graceful.shutdown('test')
  const took = performance.now() - start
  t.ok(took < 3000, `shutdown ended at the deadline (${Math.round(took)} ms, gracePeriodMs 1000)`)
  t.ok(took >= 800, 'the stream had until the deadline')
  t.equal(report.sockets.destroyed, 1, 'the session is counted as forced')
  t.equal(report.exitCode, 1)
  t.ok(await Promise.race([streamClosed, sleep(2000, false)]), 'the client stream was closed')
})
