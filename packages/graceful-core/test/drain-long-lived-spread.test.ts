/**
 * The spread of long-lived closes (real servers on 127.0.0.1, port 0): WebSockets and event streams
 * are closed in random order over `longLived.spreadMs`, with the configured close code; a window the
 * drain cannot fit is shortened; `holdLongLived()` lets a connection finish its message first, and
 * a hold that never ends is cut so the run still ends before its deadline.
 */
import t from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket, { WebSocketServer } from 'ws'
import type { GracefulOptions } from '../src/index.js'
import type { Test } from 'tap'
import { coordinator, guarded, listen } from './helpers/raw-http.js'

/** Hang guard for anything awaited below. */
const GUARD_MS = 10_000
const within = async <T>(work: Promise<T>, what: string, ms = GUARD_MS): Promise<T> => await guarded(work, what, ms)

interface Client { index: number, ws: WebSocket, messages: string[], closed: Promise<{ code: number, at: number }> }

/** A server with a registered `ws` server and `count` clients connected to it. */
async function withClients (t: Test, count: number, options: GracefulOptions) {
  const server = http.createServer((_req, res) => res.end('ok'))
  t.teardown(() => { server.closeAllConnections() })
  const wss = new WebSocketServer({ server })
  t.teardown(() => { wss.close() })
  const graceful = coordinator(t, options)
  graceful.addServer(server).addWebSocketServer(wss)
  const port = await listen(t, server)
  const clients: Client[] = []
  for (let index = 0; index < count; index++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
    t.teardown(() => { ws.terminate() })
    ws.on('error', () => {})
    const messages: string[] = []
    ws.on('message', (data) => { messages.push(String(data)) })
    const closed = new Promise<{ code: number, at: number }>((resolve) => { ws.once('close', (code) => resolve({ code, at: performance.now() })) })
    await within(once(ws, 'open'), 'a WebSocket to open')
    clients.push({ index, ws, messages, closed })
  }
  await within((async () => { while (wss.clients.size < count) await sleep(5) })(), 'every client registered')
  return { graceful, wss, clients }
}

t.test('WebSockets are closed in random order over longLived.spreadMs, with the configured code, and the report says so', async (t) => {
  const spreadMs = 1000
  const { graceful, clients } = await withClients(t, 40, { gracePeriodMs: 20_000, longLived: { spreadMs, closeCode: 1001 } })
  let drainAt = Number.NaN
  graceful.drainSignal.addEventListener('abort', () => { drainAt = performance.now() })
  const report = await within(graceful.shutdown('test'), 'the shutdown', 20_000)
  const closes = await within(Promise.all(clients.map((c) => c.closed)), 'every close')
  t.same(new Set(closes.map((c) => c.code)), new Set([1001]), 'every client sees close 1001, as configured')
  const times = closes.map((c) => c.at - drainAt)
  const span = Math.max(...times) - Math.min(...times)
  // The last of 40 batches goes out at 39/40 of the window; a loaded machine only delays the later ones.
  t.ok(span >= spreadMs / 2, `the closes arrived over ${Math.round(span)} ms, not at once`)
  const order = clients.map((c, i) => ({ i, at: closes[i]!.at })).sort((a, b) => a.at - b.at).map((c) => c.i)
  t.not(order.join(), clients.map((c) => c.index).join(), 'not in connection order')
  t.match(report.longLived, { webSocketsClosed: 40, webSocketsTerminated: 0, closeCodes: { 1001: 40 }, spreadMs }, 'the report counts the closes by code and the window')
  t.equal(report.exitCode, 0)
})

t.test('spreadMs 0 closes every WebSocket at once; a window longer than half of the drain is shortened to it', async (t) => {
  await t.test('at once', async (t) => {
    const { graceful, clients } = await withClients(t, 5, { gracePeriodMs: 20_000, longLived: { spreadMs: 0 } })
    const report = await within(graceful.shutdown('test'), 'the shutdown', 20_000)
    t.same((await Promise.all(clients.map((c) => c.closed))).map((c) => c.code), [1012, 1012, 1012, 1012, 1012], 'close 1012 by default')
    t.match(report.longLived, { webSocketsClosed: 5, spreadMs: 0, closeCodes: { 1012: 5 } })
  })
  await t.test('shortened', async (t) => {
    const { graceful } = await withClients(t, 3, { gracePeriodMs: 2000, longLived: { spreadMs: 2000 } })
    const report = await within(graceful.shutdown('test'), 'the shutdown', 20_000)
    t.ok(report.longLived.spreadMs <= 1000, `the window used (${report.longLived.spreadMs} ms) is at most half of the 2000 ms drain`)
    t.equal(report.exitCode, 0, 'and every close completed before the deadline')
  })
})

t.test('holdLongLived(): a WebSocket finishes the message it is sending before its close goes out', async (t) => {
  const { graceful, wss, clients } = await withClients(t, 2, { gracePeriodMs: 20_000, longLived: { spreadMs: 0 } })
  const [busy] = [...wss.clients]
  let finish!: () => void
  graceful.drainSignal.addEventListener('abort', () => {
    // A message that takes a while to produce: its last part goes out after the drain began.
    busy!.send('part 1')
    void graceful.holdLongLived(busy!, new Promise<void>((resolve) => { finish = resolve }).then(() => { busy!.send('part 2') }))
    setTimeout(() => finish(), 300)
  })
  const report = await within(graceful.shutdown('test'), 'the shutdown', 20_000)
  await within(Promise.all(clients.map((c) => c.closed)), 'every close')
  const held = clients.find((c) => c.messages.length > 0)
  t.same(held?.messages, ['part 1', 'part 2'], 'the held client got the whole message, then the close')
  t.match(report.longLived, { webSocketsClosed: 2, held: 1, holdsExpired: 0 }, 'the report counts the held close')
  t.equal(report.exitCode, 0)
})

t.test('holdLongLived(): work that never settles is cut at three quarters of the drain; the run ends before its deadline with exit 0', async (t) => {
  const gracePeriodMs = 1500
  const { graceful, wss, clients } = await withClients(t, 1, { gracePeriodMs, longLived: { spreadMs: 0 } })
  void graceful.holdLongLived([...wss.clients][0]!, new Promise(() => {}))
  const report = await within(graceful.shutdown('test'), 'the shutdown', 20_000)
  t.equal((await within(clients[0]!.closed, 'the close')).code, 1012, 'the client still got its close frame')
  t.match(report.longLived, { webSocketsClosed: 1, webSocketsTerminated: 0, held: 1, holdsExpired: 1 }, 'the report says the hold was cut')
  t.equal(report.exitCode, 0)
})

t.test('event streams are closed over the window too, each with a retry: hint', async (t) => {
  let started = 0
  const server = http.createServer((_req, res) => {
    started++
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: hello\n\n')
  })
  t.teardown(() => { server.closeAllConnections() })
  const graceful = coordinator(t, { gracePeriodMs: 20_000, longLived: { spreadMs: 600 } }).addServer(server)
  const port = await listen(t, server)
  const ends: number[] = []
  const bodies: string[] = []
  const agent = new http.Agent({ keepAlive: false, maxSockets: 20 })
  t.teardown(() => agent.destroy())
  const streams = Array.from({ length: 10 }, () => new Promise<void>((resolve, reject) => {
    http.get({ port, host: '127.0.0.1', path: '/events', agent }, (res) => {
      let body = ''
      res.on('data', (chunk) => { body += String(chunk) })
      res.on('end', () => { ends.push(performance.now()); bodies.push(body); resolve() })
    }).on('error', reject)
  }))
  await within((async () => { while (started < 10) await sleep(5) })(), 'every stream to start')
  const report = await within(graceful.shutdown('test'), 'the shutdown', 20_000)
  await within(Promise.all(streams), 'every stream to end')
  for (const body of bodies) t.match(body, /^data: hello\n\nretry: \d+\n\n$/, 'each stream ends with a retry: hint')
  t.ok(Math.max(...ends) - Math.min(...ends) >= 300, `the streams ended over ${Math.round(Math.max(...ends) - Math.min(...ends))} ms, not at once`)
  t.match(report.longLived, { streamsEnded: 10, spreadMs: 600 })
  t.equal(report.exitCode, 0)
})
