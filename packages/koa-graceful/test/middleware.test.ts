/** koa-graceful's own glue: probes answered through Koa's response, and the server found without attach(). */
import t from 'tap'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import { request } from 'undici'
import koaGracefulDefault, { koaGraceful } from '../src/index.js'

const TEST_OPTIONS = { signals: [], exit: false, logger: false } as const

async function get (port: number, path: string, method: 'GET' | 'HEAD' = 'GET'): Promise<{ status: number, body: string, headers: Record<string, unknown> }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { method, reset: true })
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers }
}

t.test('the default export and the named export are the same function', async (t) => {
  t.equal(koaGracefulDefault, koaGraceful)
})

t.test('probes answer through Koa\'s response (outer middleware sees them), HEAD without a body, /ready 503 once shutdown began', async (t) => {
  const graceful = koaGraceful(TEST_OPTIONS)
  const app = new Koa()
  const seen: string[] = []
  app.use(async (ctx, next) => {
    await next()
    seen.push(`${ctx.method} ${ctx.path} ${ctx.status}`)
  })
  app.use(graceful.middleware)
  app.use((ctx) => { ctx.body = 'app' })
  const server = graceful.attach(app.listen(0, '127.0.0.1'))
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo

  const ready = await get(port, '/ready?x=1')
  t.equal(ready.status, 200)
  t.same(JSON.parse(ready.body), { status: 'healthy', ready: true })
  t.equal(ready.headers['cache-control'], 'no-store')
  t.match(String(ready.headers['content-type']), /^application\/json/)
  const head = await get(port, '/health', 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.body, '', 'HEAD has no body')
  t.equal((await get(port, '/other')).body, 'app', 'other requests reach the application')

  const run = graceful.shutdown('test')
  const draining = await get(port, '/ready')
  t.equal(draining.status, 503)
  t.same(JSON.parse(draining.body), { status: 'draining', ready: false })
  await run
  t.same(seen, ['GET /ready 200', 'HEAD /health 200', 'GET /other 200', 'GET /ready 503'], 'an outer middleware saw every probe')
})

t.test('without attach(), the server is found from the first request and shutdown() closes it', async (t) => {
  const graceful = koaGraceful(TEST_OPTIONS)
  const app = new Koa()
  app.use(graceful.middleware)
  app.use((ctx) => { ctx.body = 'app' })
  const server = app.listen(0, '127.0.0.1')
  t.teardown(() => { server.close() })
  await once(server, 'listening')
  t.equal((await get(port(server), '/hello')).body, 'app')
  const closed = once(server, 'close')
  const report = await graceful.shutdown('test')
  await closed
  t.equal(server.listening, false, 'the server the request came through was drained')
  t.equal(report.exitCode, 0)
})

function port (server: { address: () => unknown }): number {
  return (server.address() as AddressInfo).port
}
