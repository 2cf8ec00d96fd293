/**
 * koa-graceful's request-listener shape, `http.createServer(graceful.requestListener(app.callback()))`
 * with `attach(server)`: the probes are answered before Koa (its middleware never sees them), the
 * rest is Koa's, and a request in flight at shutdown is counted once and ends with Connection: close.
 */
import t from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import { request } from 'undici'
import { koaGraceful } from '../src/index.js'

t.test('probes before Koa, the rest to the app; the request in flight at shutdown is counted once, with Connection: close', async (t) => {
  const graceful = koaGraceful({ signals: [], exit: false, logger: false, preStopDelayMs: 100 })
  t.teardown(async () => { await graceful.shutdown('teardown') })
  const app = new Koa()
  const seen: string[] = []
  app.use(async (ctx, next) => {
    seen.push(`${ctx.method} ${ctx.url}`)
    await next()
  })
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let arrived!: () => void
  const slowArrived = new Promise<void>((resolve) => { arrived = resolve })
  app.use(async (ctx) => {
    if (ctx.path === '/slow') {
      arrived()
      await released
      ctx.body = 'slow done'
    } else if (ctx.path === '/work') {
      ctx.body = { work: 'done' }
    }
  })
  const server = http.createServer(graceful.requestListener(app.callback()))
  t.equal(graceful.attach(server), server, 'attach returns the server')
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const ready = await request(`${origin}/ready?probe=1`)
  t.equal(ready.statusCode, 200)
  t.same(await ready.body.json(), { status: 'healthy', ready: true })
  t.equal(ready.headers['cache-control'], 'no-store')
  const head = await request(`${origin}/health`, { method: 'HEAD' })
  t.equal(head.statusCode, 200)
  t.equal(await head.body.text(), '', 'HEAD has no body')
  t.same(await (await request(`${origin}/work`)).body.json(), { work: 'done' })
  const missing = await request(`${origin}/missing`)
  t.equal(missing.statusCode, 404, 'Koa answers what no middleware answered')
  await missing.body.text()
  t.same(seen, ['GET /work', 'GET /missing'], 'the probes never reached Koa')

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
