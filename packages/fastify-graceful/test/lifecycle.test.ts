/**
 * fastify-graceful's place in fastify's lifecycle: one registration per app, encapsulated
 * registration, app.close() and shutdown() taking the same pipeline with fastify's onClose hooks
 * after persistence, and options rejected at register() naming the option.
 */
import t from 'tap'
import Fastify from 'fastify'
import { Agent, request } from 'undici'
import type { ShutdownReport } from 'graceful-core'
import fastifyGracefulDefault, { fastifyGraceful } from '../src/index.js'
import { start, TEST_OPTIONS } from './helpers.js'

t.test('the default export and the named export are the same plugin', async (t) => {
  t.equal(fastifyGracefulDefault, fastifyGraceful)
})

t.test('registering the plugin twice throws a clear error', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyGraceful, TEST_OPTIONS)
  await t.rejects(async () => {
    await app.register(fastifyGraceful, TEST_OPTIONS)
    await app.ready()
  }, /already registered/, 'the second registration is refused')
})

for (const prefix of [undefined, '/api']) {
  const where = prefix === undefined ? 'an encapsulated child plugin' : `an encapsulated child plugin with prefix ${prefix}`
  t.test(`registered inside ${where}, the routes are at root and app.graceful exists`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(async function child (child) {
      await child.register(fastifyGraceful, TEST_OPTIONS)
    }, prefix === undefined ? {} : { prefix })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const address = app.server.address()
    if (address === null || typeof address === 'string') throw new Error('no TCP address')
    const agent = new Agent()
    t.teardown(() => agent.destroy())
    const status = async (path: string): Promise<number> => {
      const res = await request(`http://127.0.0.1:${address.port}${path}`, { dispatcher: agent })
      await res.body.text()
      return res.statusCode
    }
    t.ok(app.hasDecorator('graceful'), 'the root instance has the graceful decorator')
    t.equal(typeof app.graceful?.shutdown, 'function', 'app.graceful is the coordinator')
    t.equal(await status('/ready'), 200, '/ready is at root')
    t.equal(await status('/health'), 200, '/health is at root')
  })
}

/** Records the order in which graceful's hooks and fastify's close hooks run (call before listen). */
function recordOrder (app: ReturnType<typeof Fastify>, order: string[]): void {
  app.graceful.onCleanup('cleanup', () => { order.push('cleanup') })
  app.graceful.onPersist('persist', () => { order.push('persist') })
  app.addHook('preClose', async () => { order.push('preClose') })
  app.addHook('onClose', async () => { order.push('onClose') })
  app.graceful.on('state', (state: string) => { order.push(`state:${state}`) })
}

t.test('app.close() runs the same pipeline: report emitted, hooks run, fastify onClose hooks run after persist hooks', async (t) => {
  const order: string[] = []
  const { app, get } = await start(t, { gracePeriodMs: 10_000 }, (app) => { recordOrder(app, order) })
  const reports: ShutdownReport[] = []
  app.graceful.on('report', (report) => { reports.push(report) })
  t.equal((await get('/work')).status, 200)

  await app.close()
  t.equal(reports.length, 1, 'one report emitted')
  t.equal(reports[0]?.reason, 'app.close()')
  t.equal(reports[0]?.exitCode, 0)
  t.same(reports[0]?.hooks.filter((h) => h.name !== 'fastify').map((h) => [h.name, h.outcome]), [['cleanup', 'ok'], ['persist', 'ok']])
  t.equal(app.graceful.state, 'stopped')
  t.ok(order.includes('onClose'), `fastify onClose ran (${order.join(' > ')})`)
  t.ok(order.indexOf('cleanup') < order.indexOf('persist'), 'cleanup before persist')
  t.ok(order.indexOf('persist') < order.indexOf('onClose'), `onClose after persist (${order.join(' > ')})`)
  t.equal(order.filter((o) => o === 'onClose').length, 1, 'onClose ran once')
  t.equal(app.server.listening, false, 'the server is closed')
})

t.test('shutdown() (what a signal does) also closes fastify: onClose hooks run once, after persist hooks', async (t) => {
  const order: string[] = []
  const { app } = await start(t, { gracePeriodMs: 10_000 }, (app) => { recordOrder(app, order) })
  const report = await app.graceful.shutdown('SIGTERM')
  t.equal(report.exitCode, 0)
  t.equal(report.hooks.find((h) => h.name === 'fastify')?.outcome ?? 'ok', 'ok')
  t.ok(order.includes('onClose'), `fastify onClose ran (${order.join(' > ')})`)
  t.ok(order.indexOf('persist') < order.indexOf('onClose'), `onClose after persist (${order.join(' > ')})`)
  t.equal(order.filter((o) => o === 'onClose').length, 1, 'onClose ran once')
  await app.close()
  t.equal(order.filter((o) => o === 'onClose').length, 1, 'a later app.close() does not run onClose again')
})

t.test('app.close() while a request is in flight lets it finish with Connection: close', async (t) => {
  let started!: () => void
  const handlerStarted = new Promise<void>((resolve) => { started = resolve })
  const { app, get } = await start(t, { gracePeriodMs: 10_000 }, (app) => {
    app.get('/slow', async () => {
      started()
      await new Promise((resolve) => setTimeout(resolve, 300))
      return 'slow done'
    })
  })
  const slow = get('/slow')
  await handlerStarted
  const closing = app.close()
  const res = await slow
  t.equal(res.status, 200)
  t.equal(res.body, 'slow done')
  t.equal(res.headers.connection, 'close')
  await closing
})

t.test('app.close() keeps serving through pre-stop like a signal: real routes and /health 200, /ready 503 draining (fastify created as the README says)', async (t) => {
  const { app, get } = await start(t, { preStopDelayMs: 800, gracePeriodMs: 10_000 })
  const closing = app.close()
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(app.graceful.state, 'draining', 'in pre-stop (precondition)')
  const [work, health, ready] = await Promise.all([get('/work'), get('/health'), get('/ready')])
  t.equal(work.status, 200, `real traffic is served during pre-stop, never 503d (got ${work.status} ${work.body})`)
  t.equal(work.headers.connection, 'close')
  t.equal(health.status, 200, `liveness stays 200 while draining (got ${health.status} ${health.body})`)
  t.equal(ready.status, 503)
  t.equal(ready.body, '{"status":"draining","ready":false}', 'readiness answers with the draining body')
  await closing
})

t.test('bad options reject at register() with a message naming the option', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['gracePeriodMs', { gracePeriodMs: -1 }],
    ['healthPath', { healthPath: 'x' }],
    ['readyPath', { readyPath: 'ready' }],
    ['preStopDelayMs', { preStopDelayMs: 'soon' }],
    ['hookTimeoutMs', { hookTimeoutMs: 0 }],
    ['signals', { signals: ['SIGKILL'] }],
    ['readyPath', { healthPath: '/same', readyPath: '/same' }],
    ['options.nope', { nope: true }]
  ]
  for (const [option, bad] of cases) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => {
      await app.register(fastifyGraceful, { ...TEST_OPTIONS, ...bad } as never)
    }, { message: new RegExp(`^${option.replace('.', '\\.')}\\b`) }, `${JSON.stringify(bad)} names ${option}`)
  }
})
