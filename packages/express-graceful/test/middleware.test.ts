/**
 * express-graceful on express 5 and express 4 (one loop, no copy per version): the probe routes,
 * Connection: close on the connection open at shutdown, attach(app.listen()) and lazy discovery from the first request,
 * an in-flight request finishing after the listener closed, options validated at creation, and the
 * returned object being the coordinator plus middleware and attach.
 */
import t, { type Test } from 'tap'
import http from 'node:http'
import net from 'node:net'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import express5 from 'express'
import { Agent, Client, type Dispatcher, request } from 'undici'
import expressGracefulDefault, { expressGraceful, type ExpressGracefulOptions } from '../src/index.js'

// express4 has no type declarations of its own in this repo; its app has the same shape for what we use.
const express4 = (await import('express4' as string)).default as typeof express5

const TEST_OPTIONS = { signals: [], exit: false, logger: false } satisfies ExpressGracefulOptions
const DRAINING = '{"status":"draining","ready":false}'

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

async function startApp (t: Test, express: typeof express5, options: ExpressGracefulOptions, { attach }: { attach: boolean }): Promise<{
  graceful: ReturnType<typeof expressGraceful>
  server: http.Server
  get: (path: string, method?: 'GET' | 'HEAD', dispatcher?: Dispatcher) => Promise<Answer>
  /** A client with one connection of its own, destroyed in teardown. */
  connection: () => Client
  release: () => void
  slowStarted: Promise<void>
}> {
  const graceful = expressGraceful({ ...TEST_OPTIONS, ...options })
  t.teardown(async () => { await graceful.shutdown('teardown') })
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  t.teardown(() => release())
  let started!: () => void
  const slowStarted = new Promise<void>((resolve) => { started = resolve })
  const app = express()
  app.use(graceful.middleware)
  app.get('/work', (_req, res) => { res.json({ work: 'done' }) })
  app.get('/slow', (_req, res) => {
    started()
    void released.then(() => res.send('slow done'))
  })
  const listening = app.listen(0, '127.0.0.1')
  const server = attach ? graceful.attach(listening) : listening
  t.equal(server, listening, 'attach returns the server')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const port = (server.address() as AddressInfo).port
  const agent = new Agent()
  t.teardown(() => agent.destroy())
  const get = async (path: string, method: 'GET' | 'HEAD' = 'GET', dispatcher: Dispatcher = agent): Promise<Answer> => {
    const res = await request(`http://127.0.0.1:${port}${path}`, { method, dispatcher })
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() }
  }
  const connection = (): Client => {
    const client = new Client(`http://127.0.0.1:${port}`)
    t.teardown(() => client.destroy())
    return client
  }
  return { graceful, server, get, connection, release, slowStarted }
}

t.test('the default export is expressGraceful', async (t) => {
  t.equal(expressGracefulDefault, expressGraceful)
})

t.test('bad options throw at expressGraceful() naming the option', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['gracePeriodMs', { gracePeriodMs: -1 }],
    ['healthPath', { healthPath: 'x' }],
    ['readyPath', { readyPath: 'ready?x=1' }],
    ['preStopDelayMs', { preStopDelayMs: Number.NaN }],
    ['logger', { logger: 'console' }],
    ['options.nope', { nope: 1 }]
  ]
  for (const [option, bad] of cases) {
    t.throws(() => expressGraceful({ ...TEST_OPTIONS, ...bad } as never),
      { message: new RegExp(`^${option.replace('.', '\\.')}\\b`) }, `${JSON.stringify(bad)} names ${option}`)
  }
})

t.test('the returned object is the coordinator plus middleware and attach', async (t) => {
  const graceful = expressGraceful(TEST_OPTIONS)
  t.teardown(async () => { await graceful.shutdown('teardown') })
  for (const method of ['shutdown', 'onCleanup', 'onPersist', 'track', 'startup', 'check', 'readiness', 'addServer', 'on', 'middleware', 'attach'] as const) {
    t.equal(typeof graceful[method], 'function', `${method}()`)
  }
  t.equal(graceful.state, 'starting')
  t.same(graceful.readiness(), { status: 'starting', ready: false })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(graceful.state, 'running', 'running once setup is over (no server attached, no startup task)')
  t.same(graceful.readiness(), { status: 'healthy', ready: true })
  t.ok(graceful.signal instanceof AbortSignal)
  const order: string[] = []
  graceful.onCleanup('c', () => { order.push('cleanup') })
  graceful.onPersist('p', () => { order.push('persist') })
  const report = await graceful.shutdown('test')
  t.same(order, ['cleanup', 'persist'], 'hooks registered on it run')
  t.equal(report.exitCode, 0)
  t.equal(graceful.state, 'stopped')
})

for (const [version, express] of [['express 5', express5], ['express 4', express4]] as const) {
  for (const attach of [true, false]) {
    const how = attach ? 'attach(app.listen())' : 'lazy discovery'
    t.test(`${version}, ${how}: /ready 200 then 503 from the first millisecond, /health and routes 200, Connection: close on the connection open at shutdown`, async (t) => {
      const { graceful, get, connection } = await startApp(t, express, { preStopDelayMs: 1000, gracePeriodMs: 10_000 }, { attach })
      const open = connection()
      const running = await get('/ready', 'GET', open)
      t.equal(running.status, 200)
      t.same(JSON.parse(running.body), { status: 'healthy', ready: true })
      t.equal(running.headers['cache-control'], 'no-store')
      t.not(running.headers.connection, 'close', 'keep-alive while running')
      t.equal((await get('/health', 'GET', open)).status, 200)

      const done = graceful.shutdown('test')
      // `open` was connected before shutdown; the others connect during pre-stop.
      const [ready, health, work, onOpen] = await Promise.all([get('/ready'), get('/health'), get('/work'), get('/work', 'GET', open)])
      t.equal(ready.status, 503)
      t.equal(ready.body, DRAINING, 'exact readiness body')
      t.match(ready.headers['content-type'], /^application\/json/)
      t.equal(health.status, 200, 'liveness stays 200')
      t.equal(health.body, DRAINING)
      t.equal(work.status, 200, 'real traffic is served')
      t.same(JSON.parse(work.body), { work: 'done' })
      for (const [name, res] of [['/ready', ready], ['/health', health], ['/work', work]] as const) {
        t.equal(res.headers.connection, 'keep-alive', `${name} on a connection opened during pre-stop keeps it alive`)
      }
      t.equal(onOpen.status, 200)
      t.equal(onOpen.headers.connection, 'close', 'the connection open at shutdown gets Connection: close on its next response')
      t.equal((await done).exitCode, 0)
    })

    t.test(`${version}, ${how}: an in-flight request finishes after the listener closed`, async (t) => {
      const { graceful, server, get, release, slowStarted } = await startApp(t, express, { gracePeriodMs: 10_000 }, { attach })
      if (!attach) t.equal((await get('/work')).status, 200, 'first request: the server is discovered')
      const slow = get('/slow')
      await slowStarted
      const done = graceful.shutdown('test')
      const until = performance.now() + 3000
      while (server.listening && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 5))
      t.equal(server.listening, false, 'the listener closed while the request was in flight')
      release()
      const res = await slow
      t.equal(res.status, 200)
      t.equal(res.body, 'slow done')
      t.equal(res.headers.connection, 'close')
      const report = await done
      t.equal(report.exitCode, 0)
      t.equal(report.requests.inFlightAtSignal, 1, 'the server was drained (its request was counted)')
      t.equal(report.sockets.destroyed, 0)
    })
  }

  t.test(`${version}: HEAD and query strings on both probes, configurable and disabled paths`, async (t) => {
    const { graceful, get } = await startApp(t, express, { healthPath: '/livez', readyPath: '/readyz', preStopDelayMs: 1000, gracePeriodMs: 10_000 }, { attach: true })
    for (const [state, readyStatus] of [['running', 200], ['draining', 503]] as const) {
      if (state === 'draining') void graceful.shutdown('test')
      for (const path of ['/livez', '/readyz']) {
        const expected = path === '/readyz' ? readyStatus : 200
        const head = await get(path, 'HEAD')
        t.equal(head.status, expected, `${state}: HEAD ${path}`)
        t.equal(head.body, '', `${state}: HEAD ${path} has no body`)
        t.equal((await get(`${path}?probe=kubelet`)).status, expected, `${state}: ${path} with a query string`)
        t.equal((await get(`${path}?a=1`, 'HEAD')).status, expected, `${state}: HEAD ${path} with a query string`)
      }
      t.equal((await get('/health')).status, 404, `${state}: default /health not there`)
      t.equal((await get('/ready')).status, 404, `${state}: default /ready not there`)
    }

    const disabled = await startApp(t, express, { healthPath: false }, { attach: true })
    t.equal((await disabled.get('/health')).status, 404, 'healthPath: false disables liveness')
    t.equal((await disabled.get('/ready')).status, 200)
    const noReady = await startApp(t, express, { readyPath: false }, { attach: true })
    t.equal((await noReady.get('/ready')).status, 404, 'readyPath: false disables readiness')
    t.equal((await noReady.get('/health')).status, 200)
  })

  t.test(`${version}: lazy discovery drains and counts the socket that carried the discovering request`, async (t) => {
    const { graceful, get } = await startApp(t, express, { gracePeriodMs: 10_000 }, { attach: false })
    t.equal((await get('/work')).status, 200)
    const start = performance.now()
    const report = await graceful.shutdown('test')
    t.ok(performance.now() - start < 5000, 'the idle keep-alive socket did not hold shutdown')
    t.same(report.sockets, { closedIdle: 1, closedAfterResponse: 0, destroyed: 0 }, 'the idle keep-alive socket is counted as closed idle')
  })

  t.test(`${version}: lazy discovery drains a silent connection opened before the first request`, async (t) => {
    const { graceful, server, get } = await startApp(t, express, { gracePeriodMs: 6000 }, { attach: false })
    const accepted = once(server, 'connection')
    const silent = net.connect((server.address() as AddressInfo).port, '127.0.0.1')
    t.teardown(() => { silent.destroy() })
    silent.on('error', () => {})
    const silentClosed = new Promise<boolean>((resolve) => silent.once('close', () => resolve(true)))
    await accepted
    t.equal((await get('/work')).status, 200, 'the first request discovers the server')
    const start = performance.now()
    const report = await graceful.shutdown('test')
    const took = performance.now() - start
    t.ok(took < 4000, `the silent connection did not hold shutdown until the deadline (${Math.round(took)} ms of 6 s)`)
    t.equal(report.sockets.destroyed, 0, 'nothing forced')
    t.ok(await Promise.race([silentClosed, new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false))]), 'the silent connection was closed')
  })
}
