/**
 * Long-lived connections at shutdown (real servers on 127.0.0.1, port 0): WebSockets of a registered
 * `ws` server get close 1012 "service restart" once pre-stop is over, never during it; server-sent-event streams get a
 * `retry:` hint and end cleanly; upgrade requests during the drain get 503; a WebSocket client that
 * never answers the close is terminated at the deadline; `drainSignal` marks the moment.
 */
import t, { type Test } from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket, { WebSocketServer } from 'ws'
import { summaryLine } from '../src/index.js'
import { coordinator, guarded, listen, parseResponses, Raw } from './helpers/raw-http.js'

/** Hang guard for anything awaited below. */
const GUARD_MS = 5000
const within = async <T>(work: Promise<T>, what: string, ms = GUARD_MS): Promise<T> => await guarded(work, what, ms)

interface WsClient { ws: WebSocket, closed: Promise<{ code: number, reason: string, at: number }> }

async function wsClient (t: Test, port: number): Promise<WsClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`)
  t.teardown(() => { ws.terminate() })
  ws.on('error', () => {})
  const closed = new Promise<{ code: number, reason: string, at: number }>((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: performance.now() }))
  })
  await within(once(ws, 'open'), 'the WebSocket to open')
  return { ws, closed }
}

/** An SSE route at /events: headers and one event at once, then nothing until the drain ends it. */
function sseServer (t: Test): http.Server {
  const server = http.createServer((req, res) => {
    if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
      res.write('data: hello\n\n')
      return
    }
    res.end('ok')
  })
  t.teardown(() => { server.closeAllConnections() })
  return server
}

t.test('WebSocket clients get close 1012 after pre-stop, not during it; the run exits 0 before the deadline and counts them', async (t) => {
  const server = sseServer(t)
  const wss = new WebSocketServer({ server })
  t.teardown(() => { wss.close() })
  const graceful = coordinator(t, { preStopDelayMs: 500, gracePeriodMs: 20_000 })
  graceful.addServer(server).addWebSocketServer(wss)
  const port = await listen(t, server)
  const clients = await Promise.all(Array.from({ length: 5 }, () => wsClient(t, port)))

  let openDuringPreStop = -1
  let preStopMessages = 0
  for (const { ws } of clients) ws.on('message', () => { preStopMessages++ })
  graceful.on('state', (state) => {
    // During pre-stop the connections are still served.
    if (state === 'draining') for (const ws of wss.clients) ws.send('still here')
  })
  let drainAt = Number.NaN
  graceful.drainSignal.addEventListener('abort', () => {
    drainAt = performance.now()
    openDuringPreStop = clients.filter(({ ws }) => ws.readyState === WebSocket.OPEN).length
  })

  const report = await within(graceful.shutdown('test'), 'the shutdown', 20_000)
  t.equal(openDuringPreStop, 5, 'every WebSocket was still open when pre-stop ended')
  t.equal(preStopMessages, 5, 'and received what the server sent during pre-stop')
  for (const [i, client] of clients.entries()) {
    const closed = await within(client.closed, 'the client close')
    t.same([closed.code, closed.reason], [1012, 'service restart'], `client ${i} sees close 1012 "service restart"`)
    t.ok(closed.at >= drainAt, `client ${i} was closed after the drain began`)
  }
  t.equal(report.exitCode, 0, 'exit 0')
  t.ok(report.durationMs < 20_000, `the run did not wait for the deadline (${report.durationMs} ms)`)
  t.match(report.longLived, { streamsEnded: 0, webSocketsClosed: 5, webSocketsTerminated: 0, closeCodes: { 1012: 5 }, spreadMs: 1000 }, 'report counts the WebSockets closed politely, by code, and the window')
  t.equal(report.sockets.destroyed, 0, 'the upgraded sockets closed politely are not forced')
  t.match(summaryLine(report), /5 WebSockets closed \/ 0 terminated/, 'the summary line names them')
})

t.test('an event stream gets a retry: hint after pre-stop and ends cleanly; exit 0 and counted', async (t) => {
  const server = sseServer(t)
  const graceful = coordinator(t, { preStopDelayMs: 300, gracePeriodMs: 20_000 }).addServer(server)
  const port = await listen(t, server)
  const raw = new Raw(t, port)
  await raw.connected
  raw.socket.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n')
  await within((async () => { while (!raw.data.includes('data: hello\n\n')) await sleep(5) })(), 'the first event')

  let endedDuringPreStop = true
  graceful.drainSignal.addEventListener('abort', () => { endedDuringPreStop = raw.ended || raw.data.includes('retry:') })
  const report = await within(graceful.shutdown('test'), 'the shutdown', 20_000)
  await within(raw.closed, 'the connection to close')

  t.equal(endedDuringPreStop, false, 'the stream was untouched during pre-stop')
  const { responses } = parseResponses(raw.data)
  t.equal(responses.length, 1, 'one complete response (chunked, with its terminating chunk)')
  t.match(responses[0]?.body, /^data: hello\n\nretry: \d+\n\n$/, 'the body ends with a retry: line and a blank line')
  const retryMs = Number(/retry: (\d+)/.exec(responses[0]?.body ?? '')?.[1])
  t.ok(retryMs > 0, `a positive retry (${retryMs} ms)`)
  t.equal(raw.error, undefined, 'no reset')
  t.equal(raw.ended, true, 'the server ended the connection with FIN')
  t.equal(report.exitCode, 0)
  t.equal(report.longLived.streamsEnded, 1, 'report counts the ended stream')
  t.equal(report.sockets.destroyed, 0)
  t.match(summaryLine(report), /1 event streams ended/)
})

t.test('an event stream whose headers go out after the drain began is ended as soon as they do', async (t) => {
  let respond!: () => void
  const requested = new Promise<void>((resolve) => { respond = resolve })
  let response: http.ServerResponse | undefined
  const server = http.createServer((_req, res) => { response = res; respond() })
  t.teardown(() => { server.closeAllConnections() })
  const graceful = coordinator(t, { gracePeriodMs: 20_000 }).addServer(server)
  const port = await listen(t, server)
  const raw = new Raw(t, port)
  await raw.connected
  raw.socket.write('GET /late-events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  await within(requested, 'the request')
  graceful.drainSignal.addEventListener('abort', () => {
    response?.setHeader('content-type', 'text/event-stream')
    response?.write('data: late\n\n')
  })
  const report = await within(graceful.shutdown('test'), 'the shutdown', 20_000)
  await within(raw.closed, 'the connection to close')
  t.match(parseResponses(raw.data).responses[0]?.body, /^data: late\n\nretry: \d+\n\n$/, 'the late stream got its event, then retry: and its end')
  t.equal(report.longLived.streamsEnded, 1)
  t.equal(report.exitCode, 0)
})

t.test('an upgrade request arriving once the drain began gets 503 with Retry-After and never reaches the application', async (t) => {
  const server = sseServer(t)
  const wss = new WebSocketServer({ server })
  t.teardown(() => { wss.close() })
  let connections = 0
  wss.on('connection', () => { connections++ })
  let upgradeEvents = 0
  server.on('upgrade', () => { upgradeEvents++ })
  const graceful = coordinator(t, { gracePeriodMs: 20_000 })
  graceful.addServer(server).addWebSocketServer(wss)
  const port = await listen(t, server)
  // Connected before the drain, silent until it begins (a connection that sent nothing is kept briefly).
  const raw = new Raw(t, port)
  await raw.connected
  await sleep(20)
  graceful.drainSignal.addEventListener('abort', () => {
    raw.socket.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
  })
  const report = await within(graceful.shutdown('test'), 'the shutdown', 20_000)
  await within(raw.closed, 'the connection to close')
  const [answer] = parseResponses(raw.data).responses
  t.equal(answer?.status, 503, 'the upgrade is answered 503')
  t.equal(answer?.headers['retry-after'], '1', 'with Retry-After')
  t.equal(answer?.headers.connection, 'close', 'and Connection: close')
  t.equal(raw.error, undefined, 'no reset')
  t.equal(connections, 0, 'the WebSocket server never saw it')
  t.equal(upgradeEvents, 0, "no 'upgrade' listener of the application was called")
  t.equal(report.exitCode, 0)
  t.equal(report.sockets.destroyed, 0)
})

t.test('a WebSocket client that never answers the close is terminated at the deadline and counted', async (t) => {
  const server = sseServer(t)
  const wss = new WebSocketServer({ server })
  t.teardown(() => { wss.close() })
  const graceful = coordinator(t, { gracePeriodMs: 1000 })
  graceful.addServer(server).addWebSocketServer(wss)
  const port = await listen(t, server)
  const polite = await wsClient(t, port)
  // A raw client that completes the handshake and then ignores everything the server sends.
  const mute = new Raw(t, port)
  await mute.connected
  mute.socket.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
  await within((async () => { while (!mute.data.includes('\r\n\r\n')) await sleep(5) })(), 'the 101')
  t.match(mute.data.toString('latin1'), /^HTTP\/1\.1 101 /, 'the mute client is upgraded (precondition)')
  await within((async () => { while (wss.clients.size < 2) await sleep(5) })(), 'both clients registered')

  const start = performance.now()
  const report = await within(graceful.shutdown('test'), 'the shutdown')
  const took = performance.now() - start
  await within(mute.closed, 'the mute connection to close')
  const frames = mute.data.subarray(mute.data.indexOf('\r\n\r\n') + 4)
  t.same([...frames.subarray(0, 4)], [0x88, 17, 0x03, 0xf4], 'the mute client was sent a close frame with 1012 first')
  t.equal((await within(polite.closed, 'the polite close')).code, 1012, 'the polite client closed with 1012')
  t.ok(took < GUARD_MS, `the run ended at the deadline (${Math.round(took)} ms, gracePeriodMs 1000)`)
  t.match(report.longLived, { streamsEnded: 0, webSocketsClosed: 1, webSocketsTerminated: 1, closeCodes: { 1012: 1 } }, 'one closed politely, one terminated')
  t.equal(report.exitCode, 1, 'exit 1: a connection had to be cut')
  t.match(summaryLine(report), /1 WebSockets closed \/ 1 terminated/)
})

t.test('drainSignal aborts when the drain begins, after graceful.signal and the pre-stop window; a long poll ends on it', async (t) => {
  let polled!: () => void
  const pollArrived = new Promise<void>((resolve) => { polled = resolve })
  const server = http.createServer((_req, res) => {
    polled()
    // A long poll: answers when there is news, or when the drain begins (the client polls again elsewhere).
    const done = (): void => { res.end(JSON.stringify({ events: [], reconnect: true })) }
    if (graceful.drainSignal.aborted) return done()
    graceful.drainSignal.addEventListener('abort', done, { once: true })
    res.once('close', () => graceful.drainSignal.removeEventListener('abort', done))
  })
  t.teardown(() => { server.closeAllConnections() })
  const graceful = coordinator(t, { preStopDelayMs: 300, gracePeriodMs: 20_000 }).addServer(server)
  const port = await listen(t, server)
  const raw = new Raw(t, port)
  await raw.connected
  raw.socket.write('GET /poll HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  await within(pollArrived, 'the poll')

  const seen: string[] = []
  graceful.signal.addEventListener('abort', () => { seen.push(`signal aborted, drainSignal ${graceful.drainSignal.aborted ? 'aborted' : 'not aborted'}`) })
  graceful.on('state', (state) => { if (state === 'cleaning') seen.push(`cleaning, drainSignal ${graceful.drainSignal.aborted ? 'aborted' : 'not aborted'}`) })
  t.equal(graceful.drainSignal.aborted, false, 'not aborted while running')
  const report = await within(graceful.shutdown('test'), 'the shutdown', 20_000)
  t.same(seen, ['signal aborted, drainSignal not aborted', 'cleaning, drainSignal aborted'], 'graceful.signal first; drainSignal once pre-stop is over')
  const [answer] = await raw.responsesAtLeast(1)
  t.same(JSON.parse(answer?.body ?? '{}'), { events: [], reconnect: true }, 'the long poll was answered')
  t.ok(report.phases.preStop.durationMs >= 250, 'pre-stop ran first')
  t.equal(report.exitCode, 0)
  t.equal(report.requests.completedAfterSignal, 1)
})

t.test('addWebSocketServer rejects what is not a WebSocket server, naming the option and the expected form', async (t) => {
  const graceful = coordinator(t)
  for (const bad of [undefined, null, 42, {}, { clients: 3 }]) {
    t.throws(() => graceful.addWebSocketServer(bad as never), { code: 'GRACEFUL_ERR_INVALID_OPTION', message: /^addWebSocketServer\(wss\) must be a ws WebSocketServer or an object whose clients is an iterable/ })
  }
  const untracked = new WebSocketServer({ noServer: true, clientTracking: false })
  t.teardown(() => { untracked.close() })
  t.throws(() => graceful.addWebSocketServer(untracked), { message: /clientTracking: true/ }, 'a ws server without client tracking is named')
  t.doesNotThrow(() => graceful.addWebSocketServer({ clients: [] }), 'an object with an iterable clients is accepted')
  await graceful.shutdown('test')
  t.throws(() => graceful.addWebSocketServer({ clients: new Set() }), { code: 'GRACEFUL_ERR_TOO_LATE' }, 'too late once the drain began')
})
