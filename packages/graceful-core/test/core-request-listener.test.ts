/**
 * requestListener(): a node:http request listener that answers the probes before the application
 * and hands every other request to it untouched (req, res and `this`); the server added with
 * addServer() drains as any node:http server, each request counted once.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { createGraceful } from '../src/index.js'
import { deferred, nextState, quiet, within } from './helpers/inprocess.js'

t.test('answers GET and HEAD on the probe paths; every other request reaches the listener with its req, res and this', async (t) => {
  const graceful = createGraceful(quiet())
  t.teardown(async () => { await graceful.shutdown() })
  const seen: Array<{ self: unknown, url: string | undefined, method: string | undefined, sameRes: boolean }> = []
  const server = http.createServer(graceful.requestListener(function (this: unknown, req: http.IncomingMessage, res: http.ServerResponse) {
    seen.push({ self: this, url: req.url, method: req.method, sameRes: res.req === req })
    res.end('app')
  }))
  graceful.addServer(server)
  server.listen(0, '127.0.0.1')
  while (graceful.state === 'starting') await within(nextState(graceful), 2000, 'running')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const ready = await request(`${origin}/ready?verbose=1`)
  t.equal(ready.statusCode, 200)
  t.same(await ready.body.json(), { status: 'healthy', ready: true })
  t.equal(ready.headers['cache-control'], 'no-store')
  const head = await request(`${origin}/health`, { method: 'HEAD' })
  t.equal(head.statusCode, 200)
  t.equal(await head.body.text(), '', 'HEAD has no body')
  t.equal(await (await request(`${origin}/orders?id=1`)).body.text(), 'app')
  t.equal(await (await request(`${origin}/health`, { method: 'POST' })).body.text(), 'app', 'POST /health is the application\'s')
  t.same(seen, [
    { self: server, url: '/orders?id=1', method: 'GET', sameRes: true },
    { self: server, url: '/health', method: 'POST', sameRes: true }
  ], 'probes never reach the listener; the rest does, called on the server as node:http calls it')
})

t.test('on an added server a request in flight at shutdown is counted once and ends with Connection: close; probes are not requests', async (t) => {
  const graceful = createGraceful({ ...quiet(), preStopDelayMs: 100, gracePeriodMs: 5000 })
  const release = deferred()
  const arrived = deferred()
  const server = http.createServer(graceful.requestListener((req: http.IncomingMessage, res: http.ServerResponse) => {
    arrived.resolve()
    void release.promise.then(() => res.end('done'))
  }))
  graceful.addServer(server)
  server.listen(0, '127.0.0.1')
  while (graceful.state === 'starting') await within(nextState(graceful), 2000, 'running')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const slow = request(`${origin}/slow`)
  await within(arrived.promise, 2000, 'the request to arrive')
  const run = graceful.shutdown('test')
  const draining = await request(`${origin}/ready`)
  t.equal(draining.statusCode, 503, '/ready answers 503 once shutdown began')
  await draining.body.text()
  release.resolve()
  const res = await slow
  t.equal(await res.body.text(), 'done', 'the request in flight completes')
  t.equal(res.headers.connection, 'close', 'with Connection: close')
  const report = await within(run, 5000, 'the report')
  t.equal(report.requests.inFlightAtSignal, 1, 'one request in flight at the signal, counted once')
  t.equal(report.requests.completedAfterSignal, 1)
  t.equal(report.phases.preStop.requests, 0, 'the probe during pre-stop is not traffic')
  t.equal(report.probes.answered, 1, 'it is counted as a probe')
  t.equal(report.exitCode, 0)
  t.equal(server.listening, false, 'the server was drained')
})

t.test('a server never added is found from its first request, and drained', async (t) => {
  const graceful = createGraceful({ ...quiet(), preStopDelayMs: 0, gracePeriodMs: 5000 })
  const server = http.createServer(graceful.requestListener((req: http.IncomingMessage, res: http.ServerResponse) => { res.end('app') }))
  t.teardown(() => { server.close() })
  server.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.equal(await (await request(`${origin}/orders`)).body.text(), 'app')
  const report = await within(graceful.shutdown('test'), 5000, 'the report')
  t.equal(report.exitCode, 0)
  t.equal(server.listening, false, 'the server found from its first request was drained')
})

