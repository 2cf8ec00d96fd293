/**
 * Clients that misbehave or push HTTP/1.1 to its corners while the server drains: slowloris,
 * a slow large upload, a client that never reads its response, and pipelined requests. None may
 * keep shutdown past gracePeriodMs, and pipelined requests get complete responses or a clean close
 * right after a response that announced Connection: close (RFC 9112 §9.6).
 */
import t, { type Test } from 'tap'
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { coordinator, GET, listen, parseResponses, Raw, type ParsedResponse } from './helpers/raw-http.js'

const GRACE_MS = 1000
/** Generous hang guard: the deadline plus scheduling slack, far below any client's natural end. */
const DEADLINE_GUARD_MS = GRACE_MS + 2000

t.test('slowloris (half the headers, then silence) does not keep shutdown past gracePeriodMs', async (t) => {
  let requests = 0
  const server = http.createServer((_req, res) => { requests++; res.end('ok') })
  const graceful = coordinator(t, { gracePeriodMs: GRACE_MS }).addServer(server)
  const port = await listen(t, server)
  const raw = new Raw(t, port)
  await raw.connected
  raw.socket.write('GET /slowloris HTTP/1.1\r\nHost: 127.0.0.1\r\nX-One: 1\r\n')
  await sleep(100)

  const start = performance.now()
  const report = await graceful.shutdown('test')
  const took = performance.now() - start
  t.ok(took < DEADLINE_GUARD_MS, `shutdown took ${Math.round(took)} ms with gracePeriodMs ${GRACE_MS}`)
  t.ok(await raw.closedWithin(1000), 'the slowloris socket was closed')
  t.equal(requests, 0, 'the half request never reached the handler')
  t.equal(report.sockets.destroyed, 1, 'cut at the deadline and counted')
  t.equal(report.exitCode, 1)
})

t.test('a slow large upload does not keep shutdown past gracePeriodMs', async (t) => {
  let received = 0
  const server = http.createServer((req, res) => {
    req.on('data', (chunk: Buffer) => { received += chunk.length })
    req.on('end', () => res.end('uploaded'))
  })
  const graceful = coordinator(t, { gracePeriodMs: GRACE_MS }).addServer(server)
  const port = await listen(t, server)
  const raw = new Raw(t, port)
  await raw.connected
  raw.socket.write('POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\n\r\n')
  const chunk = Buffer.alloc(1024, 'a')
  const timer = setInterval(() => { if (!raw.socket.destroyed) raw.socket.write(chunk) }, 20)
  t.teardown(() => clearInterval(timer))
  await sleep(150)
  t.ok(received > 0, 'the upload is flowing (precondition)')

  const start = performance.now()
  const report = await graceful.shutdown('test')
  const took = performance.now() - start
  t.ok(took < DEADLINE_GUARD_MS, `shutdown took ${Math.round(took)} ms with gracePeriodMs ${GRACE_MS}`)
  t.ok(await raw.closedWithin(1000), 'the uploading socket was closed')
  t.equal(report.sockets.destroyed, 1)
  t.equal(report.requests.inFlightAtSignal, 1)
  t.equal(report.exitCode, 1)
})

t.test('a client that never reads a large response does not keep shutdown past gracePeriodMs', async (t) => {
  const big = Buffer.alloc(64 * 1024 * 1024, 'x')
  let writeReturned: boolean | undefined
  const server = http.createServer((_req, res) => {
    res.setHeader('content-length', big.length)
    writeReturned = res.write(big)
  })
  const graceful = coordinator(t, { gracePeriodMs: GRACE_MS }).addServer(server)
  const port = await listen(t, server)
  const raw = new Raw(t, port)
  await raw.connected
  raw.socket.pause()
  raw.socket.write(GET('/big'))
  const until = performance.now() + 2000
  while (writeReturned === undefined && performance.now() < until) await sleep(5)
  t.equal(writeReturned, false, 'the server is blocked on backpressure (precondition)')

  const start = performance.now()
  const report = await graceful.shutdown('test')
  const took = performance.now() - start
  t.ok(took < DEADLINE_GUARD_MS, `shutdown took ${Math.round(took)} ms with gracePeriodMs ${GRACE_MS}`)
  t.equal(report.sockets.destroyed, 1)
  t.equal(report.exitCode, 1)
  raw.socket.resume()
  t.ok(await raw.closedWithin(3000), 'the socket was closed by the server')
})

/**
 * Checks the raw bytes one pipelining client received: only complete responses, in request order,
 * and when fewer than all came back, the last one announced Connection: close and the connection
 * then closed cleanly (FIN, no reset).
 */
function checkPipelined (t: Test, raw: Raw, paths: string[], label: string): ParsedResponse[] {
  const { responses, rest } = parseResponses(raw.data)
  t.equal(rest.length, 0, `${label}: no half response on the wire (${JSON.stringify(rest.toString('latin1').slice(0, 80))})`)
  t.equal(raw.error, undefined, `${label}: no reset (${raw.error?.code ?? ''})`)
  t.equal(raw.ended, true, `${label}: the connection ended with FIN`)
  t.ok(responses.length >= 1, `${label}: at least the first request was answered`)
  responses.forEach((response, i) => {
    t.equal(response.status, 200, `${label}: response ${i} is 200`)
    t.equal(response.body, `ok ${paths[i] ?? '?'}`, `${label}: response ${i} answers request ${i}`)
    if (i < responses.length - 1) t.not(response.headers.connection, 'close', `${label}: only the last response announces close`)
  })
  if (responses.length < paths.length) {
    t.equal(responses.at(-1)?.headers.connection, 'close', `${label}: answered ${responses.length}/${paths.length}; the last response announced Connection: close`)
  }
  return responses
}

t.test('pipelined requests at shutdown: complete responses, or a clean close after one announcing Connection: close', async (t) => {
  // Responses finish at 60, 120 and 180 ms; shutdown lands before, between and after them.
  const delays = [60, 120, 180]
  const shutdownAt = [0, 30, 90, 150, 210]
  const outcomes = new Set<number>()
  for (const preStopDelayMs of [0, 100]) {
    for (const at of shutdownAt) {
      const label = `shutdown at ${at} ms, pre-stop ${preStopDelayMs} ms`
      const timers = new Set<NodeJS.Timeout>()
      const server = http.createServer((req, res) => {
        const path = req.url ?? '/'
        const ms = Number(new URL(path, 'http://x').searchParams.get('ms'))
        const timer = setTimeout(() => {
          timers.delete(timer)
          const body = `ok ${path}`
          res.setHeader('content-length', Buffer.byteLength(body))
          res.end(body)
        }, ms)
        timers.add(timer)
      })
      server.keepAliveTimeout = 30_000
      t.teardown(() => { for (const timer of timers) clearTimeout(timer) })
      const graceful = coordinator(t, { preStopDelayMs, gracePeriodMs: 10_000 }).addServer(server)
      const port = await listen(t, server)
      const raw = new Raw(t, port)
      await raw.connected
      const paths = delays.map((ms, i) => `/p${i}?ms=${ms}`)
      raw.socket.write(paths.map((p) => GET(p)).join(''))
      await sleep(at)
      const start = performance.now()
      const report = await graceful.shutdown('test')
      t.ok(performance.now() - start < 5000, `${label}: shutdown did not wait for the deadline`)
      t.ok(await raw.closedWithin(2000), `${label}: the connection closed`)
      const responses = checkPipelined(t, raw, paths, label)
      outcomes.add(responses.length)
      t.equal(report.sockets.destroyed, 0, `${label}: nothing forced`)
    }
  }
  t.ok(outcomes.size >= 2, `the timings covered different outcomes (${[...outcomes].join(', ')} responses)`)
})

t.test('pipelined requests whose handlers answer at once while an earlier response still streams', async (t) => {
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  t.teardown(() => release())
  const server = http.createServer((req, res) => {
    const body = `ok ${req.url ?? '/'}`
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) })
      res.write(body.slice(0, 3))
      void released.then(() => res.end(body.slice(3)))
      return
    }
    res.setHeader('content-length', Buffer.byteLength(body))
    res.end(body)
  })
  server.keepAliveTimeout = 30_000
  const graceful = coordinator(t, { gracePeriodMs: 10_000 }).addServer(server)
  const port = await listen(t, server)
  const raw = new Raw(t, port)
  await raw.connected
  const paths = ['/stream', '/a', '/b', '/c']
  raw.socket.write(paths.map((p) => GET(p)).join(''))
  await sleep(50)
  const done = graceful.shutdown('test')
  await sleep(50)
  release()
  const report = await done
  t.ok(await raw.closedWithin(2000), 'the connection closed')
  checkPipelined(t, raw, paths, 'streaming head of line')
  t.equal(report.sockets.destroyed, 0)
  t.equal(report.exitCode, 0)
})
