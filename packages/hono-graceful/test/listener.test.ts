/**
 * hono-graceful's request-listener shape on @hono/node-server: `serve({ createServer: graceful.createServer })`
 * (node:http's, its listener wrapped in `graceful.requestListener()`), then `attach(server)`. The probes are answered
 * before Hono (its middleware never sees them), the rest is Hono's, and a request in flight at
 * shutdown is counted once (the node server's count; nothing at the fetch level) and ends with
 * Connection: close. getRequestListener(app.fetch) under http.createServer() is the same shape.
 */
import t from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { getRequestListener, serve } from '@hono/node-server'
import { Hono } from 'hono'
import { request } from 'undici'
import { honoGraceful } from '../src/index.js'

t.test('serve({ createServer: graceful.createServer }): probes before Hono, the rest to the app; the request in flight at shutdown is counted once, with Connection: close', async (t) => {
  const graceful = honoGraceful({ signals: [], exit: false, logger: false, preStopDelayMs: 100 })
  t.teardown(async () => { await graceful.shutdown('teardown') })
  const app = new Hono()
  const seen: string[] = []
  app.use(async (c, next) => {
    seen.push(`${c.req.method} ${c.req.path}`)
    await next()
  })
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let arrived!: () => void
  const slowArrived = new Promise<void>((resolve) => { arrived = resolve })
  app.get('/work', (c) => c.json({ work: 'done' }))
  app.get('/slow', async (c) => {
    arrived()
    await released
    return c.text('slow done')
  })
  const server = graceful.attach(serve({
    fetch: app.fetch,
    port: 0,
    hostname: '127.0.0.1',
    createServer: graceful.createServer
  }))
  await once(server, 'listening')
  t.teardown(() => { (server as http.Server).closeAllConnections(); server.close() })
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const ready = await request(`${origin}/ready?probe=1`)
  t.equal(ready.statusCode, 200)
  t.same(await ready.body.json(), { status: 'healthy', ready: true })
  t.equal(ready.headers['cache-control'], 'no-store')
  const head = await request(`${origin}/health`, { method: 'HEAD' })
  t.equal(head.statusCode, 200)
  t.equal(await head.body.text(), '', 'HEAD has no body')
  t.same(await (await request(`${origin}/work`)).body.json(), { work: 'done' })
  t.same(seen, ['GET /work'], 'the probes never reached Hono')

  const slow = request(`${origin}/slow`)
  await slowArrived
  const run = graceful.shutdown('test')
  const draining = await request(`${origin}/ready`)
  t.equal(draining.statusCode, 503)
  t.same(await draining.body.json(), { status: 'draining', ready: false })
  release()
  const res = await slow
  t.equal(await res.body.text(), 'slow done')
  t.equal(res.headers.connection, 'close', 'the response in flight carries Connection: close')
  const report = await run
  t.equal(report.requests.inFlightAtSignal, 1, 'one request in flight at the signal, counted once')
  t.equal(report.requests.completedAfterSignal, 1)
  t.equal(report.exitCode, 0)
  t.equal(server.listening, false, 'the server was drained')
})

t.test('http.createServer(graceful.requestListener(getRequestListener(app.fetch))): the same shape without serve()', async (t) => {
  const graceful = honoGraceful({ signals: [], exit: false, logger: false })
  t.teardown(async () => { await graceful.shutdown('teardown') })
  const app = new Hono()
  app.get('/work', (c) => c.json({ work: 'done' }))
  const server = graceful.attach(http.createServer(graceful.requestListener(getRequestListener(app.fetch))))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.same(await (await request(`${origin}/ready`)).body.json(), { status: 'healthy', ready: true })
  t.same(await (await request(`${origin}/work`)).body.json(), { work: 'done' })
})

t.test('graceful.createServer takes node:http\'s forms: (listener) and (options, listener)', async (t) => {
  const graceful = honoGraceful({ signals: [], exit: false, logger: false })
  t.teardown(async () => { await graceful.shutdown('teardown') })
  const app = (_req: http.IncomingMessage, res: http.ServerResponse): void => { res.end('app') }
  for (const server of [graceful.createServer(app), graceful.createServer({ keepAliveTimeout: 1234 }, app)]) {
    t.ok(server instanceof http.Server, 'a node:http server')
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.teardown(() => { server.closeAllConnections(); server.close() })
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    t.equal((await request(`${origin}/health`)).statusCode, 200, 'the probes are answered')
    t.equal(await (await request(`${origin}/x`)).body.text(), 'app', 'the rest goes to the listener')
  }
})
