/** hono-graceful's own glue: probes through Hono's response, app.request() without node bindings, the server found without attach(). */
import t from 'tap'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { request } from 'undici'
import honoGracefulDefault, { honoGraceful } from '../src/index.js'

const TEST_OPTIONS = { signals: [], exit: false, logger: false } as const

t.test('the default export and the named export are the same function', async (t) => {
  t.equal(honoGracefulDefault, honoGraceful)
})

t.test('app.request() (no node server) gets the probes and the routes; /ready answers 503 draining once shutdown began', async (t) => {
  const graceful = honoGraceful(TEST_OPTIONS)
  const app = new Hono()
  app.use(graceful.middleware)
  app.get('/hello', (c) => c.text('app'))
  const health = await app.request('/health?x=1')
  t.equal(health.status, 200)
  t.match(await health.json(), { ready: false }, 'not ready: no server has been seen listening yet')
  t.equal(health.headers.get('cache-control'), 'no-store')
  const head = await app.request('/health', { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(await head.text(), '', 'HEAD has no body')
  t.equal(await (await app.request('/hello')).text(), 'app', 'other requests reach the application')
  const run = graceful.shutdown('test')
  const draining = await app.request('/ready')
  t.equal(draining.status, 503)
  t.same(await draining.json(), { status: 'draining', ready: false })
  await run
})

t.test('without attach(), the server is found from c.env.incoming and shutdown() closes it', async (t) => {
  const graceful = honoGraceful(TEST_OPTIONS)
  const app = new Hono()
  app.use(graceful.middleware)
  app.get('/hello', (c) => c.text('app'))
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
  t.teardown(() => { server.close() })
  await once(server, 'listening')
  const res = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hello`, { reset: true })
  t.equal(await res.body.text(), 'app')
  const closed = once(server, 'close')
  const report = await graceful.shutdown('test')
  await closed
  t.equal(server.listening, false, 'the server the request came through was drained')
  t.equal(report.exitCode, 0)
})
