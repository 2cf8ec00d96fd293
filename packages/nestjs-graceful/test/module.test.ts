/**
 * nestjs-graceful inside one process (platform-express, and platform-fastify for its probe routes):
 * the injectable coordinator, app.close() taking the pipeline and resolving, forRootAsync, and bad
 * input. The decorators are applied as
 * functions, the way TypeScript's emit calls them.
 */
import 'reflect-metadata'
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Controller, Get, Inject, Injectable, type LoggerService, Module, type ModuleMetadata } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify'
import type { ShutdownReport } from 'graceful-core'
import { request } from 'undici'
import { attachGraceful, Graceful, GracefulModule, InjectGraceful } from '../src/index.js'

/** No process signals in the test runner. */
const TEST_OPTIONS = { signals: [] }

function moduleOf (metadata: ModuleMetadata): new () => object {
  class AppModule {}
  Module(metadata)(AppModule)
  return AppModule
}

/** Nest's LoggerService that keeps the lines, as an application's logger would receive them. */
function capturingLogger (): LoggerService & { lines: string[] } {
  const lines: string[] = []
  const keep = (message: unknown): void => { lines.push(String(message)) }
  return { lines, log: keep, warn: keep, error: keep }
}

/** A controller answering `GET /hello` with 'hello'. */
function helloController (): new () => object {
  class Hello { hello (): string { return 'hello' } }
  Get('hello')(Hello.prototype, 'hello', Object.getOwnPropertyDescriptor(Hello.prototype, 'hello')!)
  Controller()(Hello)
  return Hello
}

/** Resolves once the instance left `starting` (a tick after what let it start), or after 10 s (a hang). */
async function startedOf (graceful: Graceful): Promise<void> {
  if (graceful.state !== 'starting') return
  const bound = new AbortController()
  try {
    await Promise.race([new Promise<void>((resolve) => { graceful.once('state', () => { resolve() }) }), sleep(10_000, undefined, { signal: bound.signal })])
  } finally {
    bound.abort()
  }
}

async function get (port: number, path: string): Promise<{ status: number, body: string }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { reset: true })
  return { status: res.statusCode, body: await res.body.text() }
}

t.test('app.close() drains, runs the persist hooks, then Nest\'s shutdown hooks, and resolves; the process is left alone', async (t) => {
  const steps: string[] = []
  const exits: number[] = []
  class Store {
    constructor (readonly graceful: Graceful) {
      graceful.onPersist('save', () => { steps.push('persist') })
    }

    onModuleDestroy (): void { steps.push(`onModuleDestroy ${this.graceful.state}`) }
    beforeApplicationShutdown (signal?: string): void { steps.push(`beforeApplicationShutdown ${String(signal)}`) }
    onApplicationShutdown (signal?: string): void { steps.push(`onApplicationShutdown ${String(signal)}`) }
  }
  InjectGraceful()(Store, undefined, 0)
  Injectable()(Store)
  const logger = capturingLogger()
  const app = await NestFactory.create(moduleOf({
    imports: [GracefulModule.forRoot({ ...TEST_OPTIONS, exit: (code) => { exits.push(code) } })],
    providers: [Store]
  }), new ExpressAdapter(), { logger })
  const graceful = attachGraceful(app)
  await app.listen(0, '127.0.0.1')
  const reports: ShutdownReport[] = []
  graceful.on('report', (report) => reports.push(report))
  app.getHttpServer().once('close', () => steps.push('server closed'))

  await app.close()
  t.same(steps, ['server closed', 'persist', 'onModuleDestroy persisting', 'beforeApplicationShutdown undefined', 'onApplicationShutdown undefined'],
    'the drain first, then persistence, then Nest\'s hooks in Nest\'s order')
  t.equal(reports[0]?.reason, 'app.close()', 'one run, started by app.close()')
  t.equal(reports[0]?.exitCode, 0)
  t.same(exits, [], 'the process was not ended')
  t.ok(logger.lines.some((line) => line.startsWith('shutdown complete (app.close())')), 'the summary went to Nest\'s logger')
  await app.close()
  t.equal(reports.length, 1, 'a second app.close() resolves without a second run')
})

t.test('services get the coordinator by its class or @InjectGraceful(), one per application; checks registered there feed /ready', async (t) => {
  class Db {
    constructor (readonly graceful: Graceful, readonly same: Graceful) {
      graceful.check('db', () => true)
    }
  }
  Inject(Graceful)(Db, undefined, 0)
  InjectGraceful()(Db, undefined, 1)
  Injectable()(Db)
  const AppModule = moduleOf({ imports: [GracefulModule.forRoot(TEST_OPTIONS)], providers: [Db] })
  const apps = await Promise.all([1, 2].map(async () => {
    const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false })
    t.teardown(() => app.close())
    attachGraceful(app)
    return app
  }))
  const [first, second] = apps.map((app) => app.get(Db))
  t.equal(first?.graceful, first?.same, 'both ways inject the same coordinator')
  t.equal(first?.graceful, attachGraceful(apps[0]!), 'the one attachGraceful() returns')
  t.not(first?.graceful, second?.graceful, 'each application has its own')
  await apps[0]!.listen(0, '127.0.0.1')
  const ready = await get(apps[0]!.getHttpServer().address().port, '/ready')
  t.equal(ready.status, 200)
  t.same(JSON.parse(ready.body), { status: 'healthy', ready: true, checks: { db: 'ok' } })
})

t.test('forRootAsync builds the options from injected providers; the probes stay outside a global prefix', async (t) => {
  const SETTINGS = Symbol('settings')
  const SettingsModule = moduleOf({ providers: [{ provide: SETTINGS, useValue: { readyPath: '/readyz' } }], exports: [SETTINGS] })
  const Hello = helloController()
  const app = await NestFactory.create(moduleOf({
    imports: [GracefulModule.forRootAsync({
      imports: [SettingsModule],
      inject: [SETTINGS],
      useFactory: async (settings: { readyPath: string }) => ({ ...TEST_OPTIONS, readyPath: settings.readyPath })
    })],
    controllers: [Hello]
  }), new ExpressAdapter(), { logger: false })
  t.teardown(() => app.close())
  app.setGlobalPrefix('api')
  attachGraceful(app)
  await app.listen(0, '127.0.0.1')
  const port = app.getHttpServer().address().port
  t.equal((await get(port, '/readyz')).status, 200, 'the readiness path came from the injected settings')
  t.equal((await get(port, '/ready')).status, 404, 'the default path is not served')
  t.equal((await get(port, '/health')).status, 200, 'the probes answer outside the global prefix')
  t.equal((await get(port, '/api/hello')).body, 'hello', 'the application\'s routes keep the prefix')
})

t.test('on the express platform the probes are answered before Nest\'s express app: its middleware and routes see only the other requests', async (t) => {
  const Hello = helloController()
  const app = await NestFactory.create(moduleOf({ imports: [GracefulModule.forRoot(TEST_OPTIONS)], controllers: [Hello] }), new ExpressAdapter(), { logger: false })
  t.teardown(() => app.close())
  const seen: string[] = []
  // An application middleware that rejects what it has not let through: it must never see a probe.
  app.use((req: { url: string }, res: { statusCode: number, end: () => void }, next: () => void) => {
    seen.push(req.url)
    if (req.url === '/hello') next()
    else { res.statusCode = 401; res.end() }
  })
  const graceful = attachGraceful(app)
  await app.listen(0, '127.0.0.1')
  const port = app.getHttpServer().address().port
  t.equal((await get(port, '/health')).status, 200, 'liveness')
  t.equal((await get(port, '/ready?verbose')).status, 200, 'readiness, with a query string')
  const head = await request(`http://127.0.0.1:${port}/ready`, { method: 'HEAD', reset: true })
  await head.body.dump()
  t.equal(head.statusCode, 200, 'HEAD on a probe path')
  t.equal((await get(port, '/hello')).body, 'hello', 'the application\'s route')
  t.equal((await get(port, '/other')).status, 401, 'its middleware still rejects')
  t.same(seen, ['/hello', '/other'], 'the middleware saw no probe')
  void graceful.shutdown('test')
  t.equal((await get(port, '/ready')).status, 503, 'readiness fails once shutdown began')
})

t.test('on the express platform, a server that does not call the express app itself still answers the probes, through a middleware', async (t) => {
  const Hello = helloController()
  // An adapter whose server puts its own listener in front of the express app.
  class WrappingAdapter extends ExpressAdapter {
    override initHttpServer (): void {
      const app = this.getInstance<(req: http.IncomingMessage, res: http.ServerResponse) => void>()
      this.httpServer = http.createServer((req, res) => { app(req, res) })
    }
  }
  const app = await NestFactory.create(moduleOf({ imports: [GracefulModule.forRoot(TEST_OPTIONS)], controllers: [Hello] }), new WrappingAdapter(), { logger: false })
  t.teardown(() => app.close())
  attachGraceful(app)
  await app.listen(0, '127.0.0.1')
  const port = app.getHttpServer().address().port
  t.equal((await get(port, '/ready')).status, 200, 'readiness')
  t.equal((await get(port, '/hello')).body, 'hello', 'the application\'s route')
})

t.test('app.listen(): the instance is ready only once Nest\'s server listens, also after an init that waited on I/O', async (t) => {
  // A provider that connects to something while Nest initializes: the init outlasts its first tick.
  class Database { async onModuleInit (): Promise<void> { await sleep(20) } }
  Injectable()(Database)
  const app = await NestFactory.create(moduleOf({ imports: [GracefulModule.forRoot(TEST_OPTIONS)], providers: [Database] }), new ExpressAdapter(), { logger: false })
  t.teardown(() => app.close())
  const graceful = attachGraceful(app)
  const listeningWhenRunning: boolean[] = []
  graceful.on('state', (state) => { if (state === 'running') listeningWhenRunning.push(app.getHttpServer().listening as boolean) })
  await app.listen(0, '127.0.0.1')
  await startedOf(graceful)
  t.same(listeningWhenRunning, [true], 'running, and the server was listening by then')
})

t.test('app.init() with servers of the application\'s own: ready once they listen, the probes and routes on each, both drained by app.close()', async (t) => {
  const Hello = helloController()
  const adapter = new ExpressAdapter()
  const app = await NestFactory.create(moduleOf({ imports: [GracefulModule.forRoot(TEST_OPTIONS)], controllers: [Hello] }), adapter, { logger: false })
  const graceful = attachGraceful(app)
  await app.init()
  // NestJS's several-servers pattern, the probes answered before the express app on each.
  const listener = graceful.requestListener(adapter.getInstance<http.RequestListener>())
  const servers = [http.createServer(listener), http.createServer(listener)]
  t.teardown(async () => {
    await app.close()
    for (const server of servers) if (server.listening) server.close()
  })
  for (const server of servers) graceful.addServer(server)
  t.equal(graceful.state, 'starting', 'waits for the servers the application added')
  const listened = servers.map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)))
  await listened[0]
  t.equal(graceful.state, 'starting', 'until each of them listens')
  await listened[1]
  await startedOf(graceful)
  t.equal(graceful.state, 'running', 'ready without Nest\'s own server, which never listens')
  for (const server of servers) {
    const port = (server.address() as { port: number }).port
    t.equal((await get(port, '/health')).status, 200, 'liveness')
    t.equal((await get(port, '/ready')).status, 200, 'readiness')
    t.equal((await get(port, '/hello')).body, 'hello', 'the application\'s route')
  }
  await app.close()
  t.same(servers.map((server) => server.listening), [false, false], 'app.close() drained and closed both')
})

t.test('a bad option fails the application\'s creation, naming the option', async (t) => {
  await t.rejects(NestFactory.create(moduleOf({ imports: [GracefulModule.forRoot({ ...TEST_OPTIONS, gracePeriodMs: -1 })] }),
    new ExpressAdapter(), { logger: false, abortOnError: false }), /gracePeriodMs/)
})

t.test('attachGraceful() on an application without GracefulModule says what to import', async (t) => {
  // abortOnError: false, or Nest itself ends the process on the failed lookup, with its own message.
  const app = await NestFactory.create(moduleOf({}), new ExpressAdapter(), { logger: false, abortOnError: false })
  t.teardown(() => app.close())
  t.throws(() => attachGraceful(app), /GracefulModule\.forRoot\(\)/)
})

t.test('GracefulModule imported by two modules: one coordinator drains the server, attachGraceful(app) is not doubted, differing options are warned of', async (t) => {
  const logger = capturingLogger()
  const FeatureModule = moduleOf({ imports: [GracefulModule.forRoot({ ...TEST_OPTIONS, preStopDelayMs: 100 })] })
  const app = await NestFactory.create(moduleOf({
    imports: [GracefulModule.forRoot(TEST_OPTIONS), FeatureModule]
  }), new ExpressAdapter(), { logger })
  const graceful = attachGraceful(app)
  await app.listen(0, '127.0.0.1')
  const { port } = app.getHttpServer().address() as { port: number }
  t.equal((await get(port, '/ready')).status, 200, 'the probes answer')
  const reports: ShutdownReport[] = []
  graceful.on('report', (report) => reports.push(report))
  await app.close()
  t.equal(reports.length, 1, 'app.close() ran the one coordinator')
  t.equal(reports[0]?.exitCode, 0, 'cleanly')
  t.notOk(logger.lines.some((line) => line.includes('call attachGraceful(app)')), 'no claim that attachGraceful(app) was not called')
  t.ok(logger.lines.some((line) => line.includes('GracefulModule is imported more than once with different options')), 'the second import\'s options are said to be ignored')
})

t.test('on the fastify platform the probes are fastify routes: outside a global prefix, HEAD, app.inject(), 503 once shutdown began', async (t) => {
  const Hello = helloController()
  const app = await NestFactory.create<NestFastifyApplication>(moduleOf({
    imports: [GracefulModule.forRoot({ ...TEST_OPTIONS, preStopDelayMs: 500 }), moduleOf({ imports: [GracefulModule.forRoot(TEST_OPTIONS)] })],
    controllers: [Hello]
  }), new FastifyAdapter(), { logger: false })
  t.teardown(() => app.close())
  app.setGlobalPrefix('api')
  const graceful = attachGraceful(app)
  await app.listen(0, '127.0.0.1')
  const { port } = app.getHttpServer().address() as { port: number }
  const ready = await get(port, '/ready?probe=1')
  t.equal(ready.status, 200, 'GET /ready, query ignored')
  t.same(JSON.parse(ready.body), { status: 'healthy', ready: true })
  const head = await request(`http://127.0.0.1:${port}/health`, { method: 'HEAD', reset: true })
  t.equal(head.statusCode, 200, 'HEAD /health')
  t.equal(await head.body.text(), '', 'without a body')
  t.equal((await get(port, '/api/hello')).body, 'hello', 'the application\'s routes keep the prefix')
  const injected = await app.inject({ method: 'GET', url: '/health' })
  t.equal(injected.statusCode, 200, 'app.inject() reaches the probes')
  t.equal(injected.headers['cache-control'], 'no-store')
  const run = graceful.shutdown('test')
  const draining = await get(port, '/ready')
  t.equal(draining.status, 503)
  t.same(JSON.parse(draining.body), { status: 'draining', ready: false })
  t.equal((await run).exitCode, 0)
})

t.test('on the fastify platform an application\'s own route on a probe path fails the init, naming the option', async (t) => {
  class Health { health (): string { return 'mine' } }
  Get('health')(Health.prototype, 'health', Object.getOwnPropertyDescriptor(Health.prototype, 'health')!)
  Controller()(Health)
  const app = await NestFactory.create<NestFastifyApplication>(moduleOf({ imports: [GracefulModule.forRoot(TEST_OPTIONS)], controllers: [Health] }),
    new FastifyAdapter(), { logger: false, abortOnError: false })
  t.teardown(() => app.close())
  attachGraceful(app)
  await t.rejects(app.init(), /GET \/health is a route of the application's own.*healthPath/)
})
