/**
 * HTTP/1.1 connection draining on a real node:http server (127.0.0.1, port 0), observed from raw
 * sockets so the exact bytes, FIN and RST are visible: idle keep-alive sockets, in-flight requests,
 * the closed listener, the drain deadline, silent connections, and the report's counts.
 */
import t, { type Test } from 'tap'
import http from 'node:http'
import net from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { coordinator, GET, listen, parseResponses, Raw } from './helpers/raw-http.js'

/** A server whose `/slow?ms=N` answers after N ms and whose other paths answer at once. */
function testServer (t: Test): { server: http.Server, started: (n: number) => Promise<void> } {
  const timers = new Set<NodeJS.Timeout>()
  let seen = 0
  const waiters: Array<{ n: number, resolve: () => void }> = []
  const server = http.createServer((req, res) => {
    seen++
    for (const w of waiters.filter((w) => seen >= w.n)) w.resolve()
    const url = new URL(req.url ?? '/', 'http://x')
    const body = `ok ${url.pathname}`
    if (url.pathname === '/slow') {
      const timer = setTimeout(() => {
        timers.delete(timer)
        res.setHeader('content-length', Buffer.byteLength(body))
        res.end(body)
      }, Number(url.searchParams.get('ms') ?? 300))
      timers.add(timer)
      res.once('close', () => { clearTimeout(timer); timers.delete(timer) })
      return
    }
    res.setHeader('content-length', Buffer.byteLength(body))
    res.end(body)
  })
  t.teardown(() => { for (const timer of timers) clearTimeout(timer) })
  const started = async (n: number): Promise<void> => {
    if (seen >= n) return
    await new Promise<void>((resolve) => waiters.push({ n, resolve }))
  }
  return { server, started }
}

t.test('an idle keep-alive socket is kept through pre-stop and ended with FIN when the drain begins', async (t) => {
  const { server } = testServer(t)
  const graceful = coordinator(t, { preStopDelayMs: 400, gracePeriodMs: 10_000 }).addServer(server)
  const port = await listen(t, server)

  const raw = new Raw(t, port)
  await raw.connected
  raw.socket.write(GET('/'))
  const [first] = await raw.responsesAtLeast(1)
  t.equal(first?.status, 200)
  t.equal(first?.headers.connection, 'keep-alive', 'before shutdown the response keeps the connection alive')

  const start = performance.now()
  const done = graceful.shutdown('test')
  await sleep(200)
  t.equal(raw.ended, false, 'no FIN during the pre-stop delay')
  t.equal(raw.socket.destroyed, false, 'socket still open during the pre-stop delay')
  t.equal(server.listening, true, 'still listening during the pre-stop delay')

  t.ok(await raw.closedWithin(5000), 'socket closed once the drain began')
  t.equal(raw.ended, true, "client saw 'end' (FIN)")
  t.equal(raw.error, undefined, 'client saw no error (no ECONNRESET)')
  t.ok(raw.endedAt - start >= 350, `FIN came after the pre-stop delay (${Math.round(raw.endedAt - start)} ms)`)

  const report = await done
  t.equal(report.exitCode, 0)
  t.same(report.sockets, { closedIdle: 1, closedAfterResponse: 0, destroyed: 0 })
})

t.test('a request on an idle keep-alive socket during pre-stop is served 200 with Connection: close', async (t) => {
  const { server } = testServer(t)
  const graceful = coordinator(t, { preStopDelayMs: 600, gracePeriodMs: 10_000 }).addServer(server)
  const port = await listen(t, server)

  const raw = new Raw(t, port)
  await raw.connected
  raw.socket.write(GET('/a'))
  await raw.responsesAtLeast(1)

  const start = performance.now()
  const done = graceful.shutdown('test')
  await sleep(100)
  raw.socket.write(GET('/b'))
  const responses = await raw.responsesAtLeast(2)
  t.equal(responses[1]?.status, 200, 'served, not refused')
  t.equal(responses[1]?.body, 'ok /b')
  t.equal(responses[1]?.headers.connection, 'close', 'the response announces Connection: close')
  t.ok(await raw.closedWithin(2000), 'server ended the socket right after that response')
  t.ok(performance.now() - start < 600, 'ended before the pre-stop delay was over')
  t.equal(raw.ended, true, 'ended with FIN')
  t.equal(raw.error, undefined, 'no ECONNRESET')
  t.equal(parseResponses(raw.data).rest.length, 0, 'nothing but complete responses on the wire')

  const report = await done
  t.equal(report.exitCode, 0)
  t.same(report.sockets, { closedIdle: 0, closedAfterResponse: 1, destroyed: 0 })
})

t.test('a keep-alive request in flight at shutdown finishes 200 with Connection: close, and shutdown does not wait for keepAliveTimeout', async (t) => {
  const { server, started } = testServer(t)
  server.keepAliveTimeout = 30_000
  const graceful = coordinator(t, { gracePeriodMs: 20_000 }).addServer(server)
  const port = await listen(t, server)

  const raw = new Raw(t, port)
  await raw.connected
  raw.socket.write(GET('/warm'))
  await raw.responsesAtLeast(1)
  raw.socket.write(GET('/slow?ms=300'))
  await started(2)

  const start = performance.now()
  const report = await graceful.shutdown('test')
  const took = performance.now() - start

  const responses = await raw.responsesAtLeast(2)
  t.equal(responses[1]?.status, 200)
  t.equal(responses[1]?.body, 'ok /slow')
  t.equal(responses[1]?.headers.connection, 'close', 'the in-flight response announces Connection: close')
  t.ok(await raw.closedWithin(1000), 'socket closed')
  t.equal(raw.ended, true, 'with FIN')
  t.equal(raw.error, undefined, 'no reset')
  t.ok(took < 5000, `shutdown resolved shortly after the response (${Math.round(took)} ms), not after keepAliveTimeout`)
  t.equal(report.exitCode, 0)
  t.equal(report.requests.inFlightAtSignal, 1)
  t.equal(report.requests.completedAfterSignal, 1)
  t.same(report.sockets, { closedIdle: 0, closedAfterResponse: 1, destroyed: 0 })
})

t.test('while running a request costs no listener: none on the server after the first request, none on any response; shutdown still finds the request in flight', async (t) => {
  const closeListeners: number[] = []
  let release = (): void => {}
  const server = http.createServer((req, res) => {
    closeListeners.push(res.listenerCount('close'))
    if (req.url === '/hold') release = () => { res.end('held') }
    else res.end('ok')
  })
  const bare = http.createServer()
  const graceful = coordinator(t, { gracePeriodMs: 10_000 }).addServer(server)
  const port = await listen(t, server)
  const raw = new Raw(t, port)
  await raw.connected
  for (let i = 1; i <= 3; i++) {
    raw.socket.write(GET('/'))
    await raw.responsesAtLeast(i)
  }
  t.equal(server.listenerCount('request'), bare.listenerCount('request') + 1, "only the application's 'request' listener is left")
  t.same(closeListeners.slice(1), [0, 0], "responses after the first get no 'close' listener")
  raw.socket.write(GET('/hold'))
  while (closeListeners.length < 4) await sleep(5)
  const shutdown = graceful.shutdown('test')
  release()
  const report = await shutdown
  const responses = await raw.responsesAtLeast(4)
  t.equal(responses[3]?.body, 'held')
  t.equal(responses[3]?.headers.connection, 'close', 'the request in flight at shutdown announces Connection: close')
  t.equal(report.requests.inFlightAtSignal, 1)
  t.equal(report.requests.completedAfterSignal, 1)
})

t.test('a response whose keep-alive headers went out before shutdown still ends its socket when it finishes', async (t) => {
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let headersOut!: () => void
  const headersSent = new Promise<void>((resolve) => { headersOut = resolve })
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('part1 ')
    headersOut()
    void released.then(() => res.end('part2'))
  })
  server.keepAliveTimeout = 30_000
  t.teardown(() => release())
  const graceful = coordinator(t, { gracePeriodMs: 20_000 }).addServer(server)
  const port = await listen(t, server)

  const raw = new Raw(t, port)
  await raw.connected
  raw.socket.write(GET('/stream'))
  await headersSent
  const start = performance.now()
  const done = graceful.shutdown('test')
  await sleep(150)
  release()
  const report = await done
  const took = performance.now() - start

  const [response] = await raw.responsesAtLeast(1)
  t.equal(response?.body, 'part1 part2', 'the response completed')
  t.equal(response?.headers.connection, 'keep-alive', 'headers were sent before shutdown (precondition)')
  t.ok(await raw.closedWithin(1000), 'socket closed right after the response')
  t.equal(raw.error, undefined, 'no reset')
  t.ok(took < 5000, `no lingering socket: shutdown took ${Math.round(took)} ms with keepAliveTimeout 30 s`)
  t.equal(report.exitCode, 0)
  t.same(report.sockets, { closedIdle: 0, closedAfterResponse: 1, destroyed: 0 })
})

t.test('new connections are served during pre-stop and refused (ECONNREFUSED) once the listener closed, never accepted then reset', async (t) => {
  const { server, started } = testServer(t)
  const graceful = coordinator(t, { preStopDelayMs: 300, gracePeriodMs: 20_000 }).addServer(server)
  const port = await listen(t, server)

  // Holds the drain open so the server is still there (closing) while we connect.
  const holder = new Raw(t, port)
  await holder.connected
  holder.socket.write(GET('/slow?ms=1200'))
  await started(1)

  const done = graceful.shutdown('test')
  await sleep(50)
  const during = new Raw(t, port)
  await during.connected
  during.socket.write(GET('/during'))
  const [served] = await during.responsesAtLeast(1)
  t.equal(served?.status, 200, 'a new connection during pre-stop is served')
  t.equal(served?.headers.connection, 'keep-alive', 'and kept alive: it was accepted after the signal')

  const until = performance.now() + 3000
  while (server.listening && performance.now() < until) await sleep(5)
  t.equal(server.listening, false, 'listener closed after pre-stop')
  t.ok(await during.closedWithin(10_000), 'the drain ended the connection kept alive, once idle for a second')
  t.equal(during.error, undefined, 'with FIN, not a reset')

  const codes: string[] = []
  for (let i = 0; i < 20; i++) {
    const socket = net.connect(port, '127.0.0.1')
    t.teardown(() => { socket.destroy() })
    const outcome = await new Promise<string>((resolve) => {
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
      socket.once('connect', () => resolve('accepted'))
    })
    codes.push(outcome)
  }
  t.same([...new Set(codes)], ['ECONNREFUSED'], 'every new connect is refused by the OS')

  const responses = await holder.responsesAtLeast(1)
  t.equal(responses[0]?.status, 200, 'the in-flight request still finished')
  const report = await done
  t.equal(report.exitCode, 0)
})

t.test('Connection: close schedule: a connection open at the signal leaves through its next response; one accepted during pre-stop is kept alive until the drain begins, a response ended on drainSignal included', async (t) => {
  let drainBegan = (): boolean => false
  const server = http.createServer((req, res) => {
    const body = `ok ${req.url ?? ''}`
    const answer = (): void => {
      // Whether the drain had begun when the head was written: the header decided by then says so.
      res.setHeader('x-drain-began', String(drainBegan()))
      res.setHeader('content-length', Buffer.byteLength(body))
      res.end(body)
    }
    if (req.url === '/until-drain') graceful.drainSignal.addEventListener('abort', answer, { once: true })
    else answer()
  })
  // Traffic-aware: pre-stop lasts until the requests below stopped for 1 s, so the drain cannot begin between them.
  const graceful = coordinator(t, { preStopDelayMs: 100, preStopQuietMs: 1000, preStopMaxMs: 20_000, gracePeriodMs: 30_000 }).addServer(server)
  drainBegan = () => graceful.drainSignal.aborted
  const port = await listen(t, server)

  const before = new Raw(t, port)
  await before.connected
  before.socket.write(GET('/before'))
  t.equal((await before.responsesAtLeast(1))[0]?.headers.connection, 'keep-alive', 'kept alive while running')

  const done = graceful.shutdown('test')
  const during = new Raw(t, port)
  const idle = new Raw(t, port)
  await Promise.all([during.connected, idle.connected])
  for (const path of ['/during-1', '/during-2']) {
    during.socket.write(GET(path))
    const response = (await during.responsesAtLeast(path === '/during-1' ? 1 : 2)).at(-1)
    t.match(response, { status: 200, body: `ok ${path}`, headers: { connection: 'keep-alive', 'x-drain-began': 'false' } },
      `${path} on a connection accepted during pre-stop keeps it alive`)
  }
  idle.socket.write(GET('/idle'))
  t.equal((await idle.responsesAtLeast(1))[0]?.headers.connection, 'keep-alive', 'so does another one, left idle from then on')

  before.socket.write(GET('/before-next'))
  const next = (await before.responsesAtLeast(2))[1]
  t.match(next, { status: 200, headers: { connection: 'close', 'x-drain-began': 'false' } }, 'the connection open at the signal gets Connection: close on its next response')
  t.ok(await before.closedWithin(2000), 'and leaves after it')
  t.equal(before.error, undefined, 'with FIN')

  during.socket.write(GET('/until-drain'))
  const last = (await during.responsesAtLeast(3, 20_000))[2]
  t.match(last, { status: 200, headers: { connection: 'close', 'x-drain-began': 'true' } }, 'a response ended as drainSignal aborts announces Connection: close')
  t.ok(await during.closedWithin(2000), 'and the connection leaves after it')
  t.ok(await idle.closedWithin(10_000), 'the drain ends the connection left idle, once idle for a second')
  t.equal(idle.error, undefined, 'with FIN')

  const report = await done
  t.equal(report.exitCode, 0)
  t.same(report.sockets, { closedIdle: 1, closedAfterResponse: 2, destroyed: 0 }, 'the idle one counts as closed idle, the others after their response')
})

t.test('a connection kept alive through pre-stop is not ended under a client still using it when the drain begins: it leaves through its next response; left idle, it is ended once idle for a second', async (t) => {
  const { server, started } = testServer(t)
  const graceful = coordinator(t, { preStopDelayMs: 200, gracePeriodMs: 10_000 }).addServer(server)
  const port = await listen(t, server)

  const done = graceful.shutdown('test')
  const busy = new Raw(t, port)
  const quiet = new Raw(t, port)
  await Promise.all([busy.connected, quiet.connected])
  // Both answered shortly before the drain begins (pre-stop: 200 ms), keep-alive.
  busy.socket.write(GET('/slow?ms=150'))
  quiet.socket.write(GET('/slow?ms=150'))
  await started(2)
  for (const raw of [busy, quiet]) t.equal((await raw.responsesAtLeast(1))[0]?.headers.connection, 'keep-alive', 'kept alive during pre-stop')

  // Once the listener is closed (the drain ended the idle connections open at the signal), the
  // client still using its connection sends again: served, and told to leave.
  while (server.listening) await sleep(1)
  t.equal(busy.socket.readableEnded, false, 'the connection used just before the drain was not ended under its client')
  busy.socket.write(GET('/after-drain'))
  const [, next] = await busy.responsesAtLeast(2)
  t.match(next, { status: 200, body: 'ok /after-drain', headers: { connection: 'close' } }, 'its next request is served with Connection: close')
  t.ok(await busy.closedWithin(2000), 'and it leaves after that response')
  t.equal(busy.error, undefined, 'with FIN, no reset')
  t.ok(await quiet.closedWithin(10_000), 'the one left idle is ended once idle for a second')
  t.equal(quiet.error, undefined, 'with FIN')

  const report = await done
  t.equal(report.exitCode, 0)
  t.same(report.sockets, { closedIdle: 1, closedAfterResponse: 1, destroyed: 0 })
})

t.test('a keep-alive head written during pre-stop holds when its response ends in the drain: the client sends again on that connection and is served with Connection: close', async (t) => {
  const server = http.createServer((req, res) => {
    if (req.url === '/stream') {
      // Head and a first chunk now (pre-stop: keep-alive), the end once the drain began.
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('first ')
      graceful.drainSignal.addEventListener('abort', () => { res.end('last') }, { once: true })
      return
    }
    res.setHeader('content-length', 2)
    res.end('ok')
  })
  const graceful = coordinator(t, { preStopDelayMs: 200, gracePeriodMs: 10_000 }).addServer(server)
  const port = await listen(t, server)

  const done = graceful.shutdown('test')
  const raw = new Raw(t, port)
  await raw.connected
  raw.socket.write(GET('/stream'))
  const [streamed] = await raw.responsesAtLeast(1, 10_000)
  t.match(streamed, { status: 200, body: 'first last', headers: { connection: 'keep-alive' } }, 'the response ended in the drain, under its keep-alive head')
  // The client sends again once the listener is closed, when the drain ends the idle connections.
  while (server.listening) await sleep(1)
  raw.socket.write(GET('/next'))
  const [, next] = await raw.responsesAtLeast(2, 10_000)
  t.match(next, { status: 200, body: 'ok', headers: { connection: 'close' } }, 'the next request on that connection is served, with Connection: close')
  t.ok(await raw.closedWithin(5000), 'and the connection leaves after it')
  t.equal(raw.error, undefined, 'with FIN, no reset')
  t.equal((await done).exitCode, 0)
})

t.test('with a drain shorter than that second, a connection kept alive through pre-stop is ended as idle within half the drain time: exit 0, nothing destroyed', async (t) => {
  const { server, started } = testServer(t)
  const graceful = coordinator(t, { preStopDelayMs: 100, gracePeriodMs: 1000 }).addServer(server)
  const port = await listen(t, server)

  const done = graceful.shutdown('test')
  const idle = new Raw(t, port)
  await idle.connected
  idle.socket.write(GET('/slow?ms=10'))
  await started(1)
  t.equal((await idle.responsesAtLeast(1))[0]?.headers.connection, 'keep-alive', 'kept alive during pre-stop')

  const report = await done
  t.ok(await idle.closedWithin(5000), 'the server ended it')
  t.equal(idle.error, undefined, 'with FIN')
  t.equal(report.exitCode, 0, 'before the drain deadline: not a forced drain')
  t.same(report.sockets, { closedIdle: 1, closedAfterResponse: 0, destroyed: 0 })
})

t.test('a 60 s request is cut at the gracePeriodMs deadline and counted as forced', async (t) => {
  const { server, started } = testServer(t)
  const graceful = coordinator(t, { gracePeriodMs: 1000 }).addServer(server)
  const port = await listen(t, server)

  const raw = new Raw(t, port)
  await raw.connected
  raw.socket.write(GET('/slow?ms=60000'))
  await started(1)

  const start = performance.now()
  const report = await graceful.shutdown('test')
  const took = performance.now() - start
  t.ok(took < 5000, `shutdown resolved at the deadline (${Math.round(took)} ms)`)
  t.ok(took >= 800, `not before the deadline (${Math.round(took)} ms)`)
  t.equal(report.sockets.destroyed, 1)
  t.equal(report.exitCode, 1)
  t.equal(report.requests.inFlightAtSignal, 1)
  t.ok(await raw.closedWithin(1000), 'the client socket was closed by the server')
  t.equal(raw.responses.length, 0, 'no (fake) response was produced')
})

t.test('a silent TCP connection (never sends a byte) does not hold shutdown until the deadline', async (t) => {
  const server = http.createServer((_req, res) => res.end('ok'))
  const graceful = coordinator(t, { gracePeriodMs: 20_000 }).addServer(server)
  const port = await listen(t, server)
  const accepted = once(server, 'connection')
  const raw = new Raw(t, port)
  await raw.connected
  await accepted

  const start = performance.now()
  const report = await graceful.shutdown('test')
  const took = performance.now() - start
  t.ok(took < 5000, `shutdown took ${Math.round(took)} ms of a 20 s grace period`)
  t.equal(report.sockets.destroyed, 0, 'treated as idle, not forced')
  t.equal(report.sockets.closedIdle, 1)
  t.equal(report.exitCode, 0)
  t.ok(await raw.closedWithin(1000), 'the silent socket was closed')
  t.equal(raw.error, undefined, 'with FIN, not a reset')
})

t.test('report counts in-flight requests, completed requests and sockets closed idle / after response', async (t) => {
  const { server, started } = testServer(t)
  const graceful = coordinator(t, { gracePeriodMs: 20_000 }).addServer(server)
  const port = await listen(t, server)

  const idle = [new Raw(t, port), new Raw(t, port)]
  for (const raw of idle) {
    await raw.connected
    raw.socket.write(GET('/'))
    await raw.responsesAtLeast(1)
  }
  const busy = [new Raw(t, port), new Raw(t, port)]
  for (const raw of busy) {
    await raw.connected
    raw.socket.write(GET('/slow?ms=300'))
  }
  await started(4)

  const report = await graceful.shutdown('test')
  t.equal(report.requests.inFlightAtSignal, 2)
  t.equal(report.requests.completedAfterSignal, 2)
  t.same(report.sockets, { closedIdle: 2, closedAfterResponse: 2, destroyed: 0 })
  t.equal(report.exitCode, 0)
  for (const raw of busy) t.equal((await raw.responsesAtLeast(1))[0]?.headers.connection, 'close')
})

t.test('report counts a forced socket next to an idle one', async (t) => {
  const { server, started } = testServer(t)
  const graceful = coordinator(t, { gracePeriodMs: 800 }).addServer(server)
  // A hook makes the report wait a little after the forced close, so late 'close' events count too.
  graceful.onCleanup('db', () => sleep(100), { timeoutMs: 200 })
  const port = await listen(t, server)

  const idle = new Raw(t, port)
  await idle.connected
  idle.socket.write(GET('/'))
  await idle.responsesAtLeast(1)
  const stuck = new Raw(t, port)
  await stuck.connected
  stuck.socket.write(GET('/slow?ms=60000'))
  await started(2)

  const report = await graceful.shutdown('test')
  t.equal(report.requests.inFlightAtSignal, 1)
  t.equal(report.requests.completedAfterSignal, 0, 'a request destroyed at the deadline is not counted as completed')
  t.same(report.sockets, { closedIdle: 1, closedAfterResponse: 0, destroyed: 1 })
  t.equal(report.exitCode, 1)
  t.equal(idle.error, undefined, 'the idle one got a FIN')
})
