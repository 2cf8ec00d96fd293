/**
 * The probe routes of fastify-graceful: readiness flips to 503 from the first millisecond of
 * shutdown while liveness and real routes keep answering 200; HEAD, query
 * strings, configurable and disabled paths; the bodies say nothing but the state.
 */
import t from 'tap'
import { start } from './helpers.js'

const DRAINING = { status: 'draining', ready: false }

t.test('answers 200 on /ready and /health while running', async (t) => {
  const { get } = await start(t)
  for (const path of ['/ready', '/health']) {
    const res = await get(path)
    t.equal(res.status, 200, path)
    t.same(JSON.parse(res.body), { status: 'healthy', ready: true }, `${path} body`)
    t.equal(res.headers['cache-control'], 'no-store', `${path} is never cached`)
    t.match(res.headers['content-type'], /^application\/json/, `${path} is JSON`)
    t.not(res.headers.connection, 'close', `${path} keeps the connection alive while running`)
  }
})

t.test('answers 503 on /ready from the first millisecond of shutdown; /health and other routes answer 200; the connection open at shutdown gets Connection: close', async (t) => {
  const { app, get, connection } = await start(t, { preStopDelayMs: 1000, gracePeriodMs: 10_000 })
  const open = connection()
  t.equal((await get('/ready', 'GET', open)).status, 200, 'ready before shutdown')

  const done = app.graceful.shutdown('test')
  // Sent in the same tick as shutdown(): nothing may be in between. `open` was connected before
  // shutdown; the others connect during pre-stop.
  const [ready, health, work, onOpen] = await Promise.all([get('/ready'), get('/health'), get('/work'), get('/work', 'GET', open)])
  t.equal(ready.status, 503, '/ready answers 503')
  t.same(JSON.parse(ready.body), DRAINING)
  t.equal(ready.body, '{"status":"draining","ready":false}', 'exact readiness body')
  t.equal(health.status, 200, '/health still answers 200 (liveness must not fail while draining)')
  t.same(JSON.parse(health.body), DRAINING, '/health reports the state')
  t.equal(work.status, 200, 'real traffic is served, never 503d')
  t.same(JSON.parse(work.body), { work: 'done' })
  for (const [name, res] of [['/ready', ready], ['/health', health], ['/work', work]] as const) {
    t.equal(res.headers.connection, 'keep-alive', `${name} on a connection opened during pre-stop keeps it alive`)
  }
  t.equal(onOpen.status, 200)
  t.equal(onOpen.headers.connection, 'close', 'the connection open at shutdown gets Connection: close on its next response')
  const report = await done
  t.equal(report.exitCode, 0)
})

t.test('HEAD and query strings work on both probes, while running and while draining', async (t) => {
  const { app, get } = await start(t, { preStopDelayMs: 1000, gracePeriodMs: 10_000 })
  const check = async (state: string, readyStatus: number): Promise<void> => {
    for (const path of ['/ready', '/health']) {
      const expected = path === '/ready' ? readyStatus : 200
      const head = await get(path, 'HEAD')
      t.equal(head.status, expected, `${state}: HEAD ${path}`)
      t.equal(head.body, '', `${state}: HEAD ${path} has no body`)
      const query = await get(`${path}?probe=kubelet&x=1`)
      t.equal(query.status, expected, `${state}: GET ${path} with a query string`)
      t.equal(JSON.parse(query.body).ready, readyStatus === 200, `${state}: ${path}?… body`)
      const headQuery = await get(`${path}?probe=1`, 'HEAD')
      t.equal(headQuery.status, expected, `${state}: HEAD ${path} with a query string`)
    }
  }
  await check('running', 200)
  const done = app.graceful.shutdown('test')
  await check('draining', 503)
  await done
})

t.test('probe paths are configurable', async (t) => {
  const { app, get } = await start(t, { healthPath: '/livez', readyPath: '/readyz', preStopDelayMs: 1000, gracePeriodMs: 10_000 })
  t.equal((await get('/livez')).status, 200)
  t.equal((await get('/readyz')).status, 200)
  t.equal((await get('/health')).status, 404, 'the default /health is not there')
  t.equal((await get('/ready')).status, 404, 'the default /ready is not there')
  const done = app.graceful.shutdown('test')
  t.equal((await get('/readyz')).status, 503)
  t.equal((await get('/livez')).status, 200)
  await done
})

t.test('healthPath: false disables liveness and readyPath: false disables readiness', async (t) => {
  const noHealth = await start(t, { healthPath: false })
  t.equal((await noHealth.get('/health')).status, 404, 'no /health route')
  t.equal((await noHealth.get('/ready')).status, 200, '/ready still there')

  const noReady = await start(t, { readyPath: false })
  t.equal((await noReady.get('/ready')).status, 404, 'no /ready route')
  t.equal((await noReady.get('/health')).status, 200, '/health still there')

  const none = await start(t, { healthPath: false, readyPath: false })
  t.equal((await none.get('/ready')).status, 404)
  t.equal((await none.get('/health')).status, 404)
  t.equal((await none.get('/work')).status, 200, 'the app works without probes')
})

t.test('probe bodies reveal no internals in any state', async (t) => {
  const { app, get } = await start(t, { preStopDelayMs: 300, gracePeriodMs: 10_000 })
  app.graceful.onCleanup('secret-db', () => {})
  const bodies: string[] = []
  for (const path of ['/ready', '/health']) bodies.push((await get(path)).body)
  const done = app.graceful.shutdown('reason-with-secret')
  for (const path of ['/ready', '/health']) bodies.push((await get(path)).body)
  await done
  for (const body of bodies) {
    const parsed = JSON.parse(body) as Record<string, unknown>
    t.same(Object.keys(parsed).sort(), ['ready', 'status'], `only status and ready: ${body}`)
    t.notMatch(body, /secret|reason|hook|pid|version|uptime|inFlight|error|stack/i, 'no names, reasons or counts')
  }
})
