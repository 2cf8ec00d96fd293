/**
 * fetchHandler() and native servers, in process on Node: the wrapped handler answers the probes,
 * passes everything else through, marks responses `Connection: close` once shutdown began, and the
 * drain stops the server through its own stop(), cutting it at the deadline. The server here is a
 * stand-in with Bun's shape; test/native-servers.test.ts runs real Bun and Deno servers.
 */
import { once } from 'node:events'
import t from 'tap'
import { createGraceful, type Graceful, type GracefulOptions } from '../src/index.js'
import { deferred, quiet, recordingLogger, within, nextState } from './helpers/inprocess.js'

/** A server with Bun's shape: records its stop() calls; a graceful stop resolves when `drained` does. */
function bunLikeServer (): { stop: (force?: boolean) => Promise<void>, calls: Array<boolean | undefined>, drained: ReturnType<typeof deferred<void>> } {
  const drained = deferred()
  const calls: Array<boolean | undefined> = []
  return {
    calls,
    drained,
    async stop (force) {
      calls.push(force)
      if (force !== true) await drained.promise
    }
  }
}

async function running (options: GracefulOptions = {}): Promise<Graceful> {
  const graceful = createGraceful({ ...quiet(), preStopDelayMs: 50, gracePeriodMs: 5000, ...options })
  await within(nextState(graceful), 2000, 'running')
  return graceful
}

const get = (path: string, method = 'GET'): Request => new Request(`http://127.0.0.1:3000${path}`, { method })

t.test('answers the probes and passes other requests, with this and every argument, to the handler', async (t) => {
  const graceful = createGraceful(quiet())
  const seen: unknown[][] = []
  const fetch = graceful.fetchHandler(function (this: unknown, request: Request, ...rest: unknown[]) {
    seen.push([this, new URL(request.url).pathname, ...rest])
    return new Response('app')
  })
  t.equal((await fetch(get('/ready?verbose'))).status, 503, '/ready is 503 while starting')
  await within(nextState(graceful), 2000, 'running')
  const ready = await fetch(get('/ready'))
  t.equal(ready.status, 200)
  t.same(await ready.json(), { status: 'healthy', ready: true })
  t.equal(ready.headers.get('cache-control'), 'no-store')
  t.equal(await (await fetch(get('/health', 'HEAD'))).text(), '', 'HEAD has no body')
  const server = { name: 'server' }
  const answer = await fetch.call('app', get('/orders?id=1'), server)
  t.equal(await answer.text(), 'app')
  t.equal(answer.headers.get('connection'), null, 'no Connection: close while running')
  t.same(seen, [['app', '/orders', server]], 'probes never reach the handler')
  await graceful.shutdown()
})

t.test('shutdown: Connection: close on every response, stop() after pre-stop, the request in progress awaited and counted', async (t) => {
  const graceful = await running({ preStopDelayMs: 200 })
  const server = bunLikeServer()
  graceful.addServer(server)
  const release = deferred<Response>()
  const fetch = graceful.fetchHandler((request: Request) => {
    const path = new URL(request.url).pathname
    if (path === '/slow') return release.promise
    if (path === '/redirect') return Response.redirect('http://127.0.0.1/elsewhere', 302) // immutable headers
    return new Response('app')
  })
  const slow = fetch(get('/slow'))
  const run = graceful.shutdown()
  const ready = await fetch(get('/ready'))
  t.equal(ready.status, 503, '/ready is 503 from the start of shutdown')
  t.equal(ready.headers.get('connection'), 'close')
  const during = await fetch(get('/'))
  t.equal(during.headers.get('connection'), 'close', 'a real route answers during pre-stop, with Connection: close')
  const redirect = await fetch(get('/redirect'))
  t.equal(redirect.status, 302)
  t.equal(redirect.headers.get('location'), 'http://127.0.0.1/elsewhere')
  t.equal(redirect.headers.get('connection'), 'close', 'a response with immutable headers is copied, with Connection: close')
  t.same(server.calls, [], 'the server still listens during pre-stop')

  await within(once(graceful.drainSignal, 'abort'), 5000, 'the drain')
  for (let i = 0; i < 500 && server.calls.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.same(server.calls, [false], 'the drain stops the server gracefully')
  release.resolve(new Response('slow'))
  t.equal((await slow).headers.get('connection'), 'close')
  server.drained.resolve()
  const report = await within(run, 5000, 'shutdown')
  t.match(report, { exitCode: 0, requests: { inFlightAtSignal: 1, completedAfterSignal: 3 }, probes: { answered: 1 }, sockets: { destroyed: 0 } })
  t.same(server.calls, [false], 'never cut')
})

t.test('a request still in progress at the drain deadline: the server is cut (stop(true)), the request counted as forced', async (t) => {
  const graceful = await running({ gracePeriodMs: 600, hookTimeoutMs: 100 })
  const server = bunLikeServer()
  graceful.addServer(server)
  const fetch = graceful.fetchHandler((_request: Request) => new Promise<Response>(() => {}))
  void fetch(get('/stuck'))
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.same(server.calls, [false, true], 'stopped gracefully, then cut')
  t.match(report, { exitCode: 1, requests: { inFlightAtSignal: 1, completedAfterSignal: 0 }, sockets: { destroyed: 1 } })
})

t.test('a handler that throws or rejects is no longer in progress', async (t) => {
  const graceful = await running()
  const server = bunLikeServer()
  graceful.addServer(server)
  server.drained.resolve()
  const fetch = graceful.fetchHandler((request: Request) => {
    if (request.url.endsWith('/throw')) throw new Error('sync')
    return Promise.reject(new Error('async'))
  })
  t.throws(() => fetch(get('/throw')), /sync/)
  await t.rejects(fetch(get('/reject')), /async/)
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.match(report, { exitCode: 0, requests: { inFlightAtSignal: 0 }, sockets: { destroyed: 0 } })
})

t.test('a server stopped by the application before the drain is reported, with a warning', async (t) => {
  const logger = recordingLogger()
  const graceful = await running({ ...quiet(logger), preStopDelayMs: 200 })
  const server = bunLikeServer()
  server.drained.resolve()
  const ownStop = server.stop
  graceful.addServer(server)
  graceful.fetchHandler(() => new Response('app'))
  const run = graceful.shutdown()
  await server.stop() // the application's own SIGTERM handler, during pre-stop
  const report = await within(run, 5000, 'shutdown')
  t.equal(report.phases.drain.listenerClosedBy, 'other')
  t.ok(logger.entries.some((e) => e.level === 'warn' && /something else closed it/.test(e.msg ?? '')), 'warned')
  t.same(server.calls, [undefined, false], "the drain's own stop() still ran")
  t.equal(server.stop, ownStop, 'the watch on stop() is removed')
})

t.test('fetchHandler() without a server added: the drain says what to do', async (t) => {
  const logger = recordingLogger()
  const graceful = await running(quiet(logger))
  graceful.fetchHandler(() => new Response('app'))
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.equal(report.exitCode, 0)
  t.ok(logger.entries.some((e) => e.level === 'warn' && /graceful\.addServer\(server\)/.test(e.msg ?? '')), 'warned, naming addServer')
})
