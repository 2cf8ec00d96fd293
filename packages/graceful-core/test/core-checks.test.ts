/**
 * Readiness dependency checks: run only for readiness and only while running, concurrently, each
 * under its timeout, single flight and cached; critical → 503 unavailable, non-critical → 200
 * degraded; bodies carry names and outcomes only; errors logged once per change.
 */
import http from 'node:http'
import t, { type Test } from 'tap'
import { createGraceful, type Graceful } from '../src/index.js'
import { deferred, quiet, recordingLogger, untilAborted, within, nextState } from './helpers/inprocess.js'

async function running (graceful: Graceful): Promise<Graceful> {
  while (graceful.state === 'starting') await within(nextState(graceful), 2000, 'running')
  return graceful
}

/** A coordinator that has reached running, shut down in teardown. */
async function started (t: Test, logger = recordingLogger()): Promise<Graceful> {
  const graceful = createGraceful(quiet(logger))
  t.teardown(async () => { await graceful.shutdown() })
  return await running(graceful)
}

t.test('without checks the readiness body has no checks field', async (t) => {
  const graceful = await started(t)
  t.same((await graceful.probe('ready')).body, { status: 'healthy', ready: true })
})

t.test('all checks ok: 200 healthy with each check named', async (t) => {
  const graceful = await started(t)
  graceful.check('db', () => true)
  graceful.check('cache', async () => {}, { critical: false })
  const answer = await graceful.probe('ready')
  t.equal(answer.statusCode, 200)
  t.equal(JSON.stringify(answer.body), '{"status":"healthy","ready":true,"checks":{"db":"ok","cache":"ok"}}')
})

t.test('a failing critical check: 503 unavailable, the body names it and shows no error text', async (t) => {
  const logger = recordingLogger()
  const graceful = await started(t, logger)
  graceful.check('db', async () => { throw new Error('connect to postgres://admin:s3cret@db:5432 refused') })
  const answer = await graceful.probe('ready')
  t.equal(answer.statusCode, 503)
  t.equal(JSON.stringify(answer.body), '{"status":"unavailable","ready":false,"checks":{"db":"fail"}}')
  t.notMatch(JSON.stringify(answer.body), /s3cret|postgres|refused/, 'no error text in the body')
  const logged = logger.entries.find((e) => e.obj.check === 'db')
  t.equal((logged?.obj.err as Error).message, 'connect to postgres://admin:***@db:5432 refused', 'the error goes to the log, its URL password masked')
  t.equal((await graceful.probe('health')).statusCode, 200, 'liveness stays 200')
})

t.test('a check that returns false, throws synchronously or rejects fails', async (t) => {
  const graceful = await started(t)
  graceful.check('returns-false', () => false)
  graceful.check('throws', () => { throw new Error('sync') })
  graceful.check('rejects', async () => await Promise.reject(new Error('async')))
  graceful.check('returns-value', () => ({ rows: 1 }))
  t.same((await graceful.probe('ready')).body.checks, { 'returns-false': 'fail', throws: 'fail', rejects: 'fail', 'returns-value': 'ok' })
})

t.test('only non-critical checks failing: 200 degraded', async (t) => {
  const graceful = await started(t)
  graceful.check('db', () => true)
  graceful.check('search', () => false, { critical: false })
  const answer = await graceful.probe('ready')
  t.equal(answer.statusCode, 200)
  t.equal(JSON.stringify(answer.body), '{"status":"degraded","ready":true,"checks":{"db":"ok","search":"fail"}}')
})

t.test('a check outliving its timeout is timeout, its signal aborts, and the probe answers anyway', async (t) => {
  const graceful = await started(t)
  let checkSignal: AbortSignal | undefined
  graceful.check('slow', async (signal) => { checkSignal = signal; await new Promise(() => {}) }, { timeoutMs: 50 })
  const answer = await within(graceful.probe('ready'), 2000, 'probe')
  t.equal(answer.statusCode, 503)
  t.same(answer.body, { status: 'unavailable', ready: false, checks: { slow: 'timeout' } })
  t.equal(checkSignal?.aborted, true)
})

t.test('checks run concurrently, each under its own timeout', async (t) => {
  const graceful = await started(t)
  const secondStarted = deferred()
  // The first check can only finish once the second has started: a serial run would time it out.
  graceful.check('first', async () => { await secondStarted.promise }, { timeoutMs: 2000 })
  graceful.check('second', () => { secondStarted.resolve() })
  t.same((await within(graceful.probe('ready'), 5000, 'probe')).body.checks, { first: 'ok', second: 'ok' })
})

t.test('50 simultaneous probes run a check once, and its result is reused for cacheMs', async (t) => {
  const graceful = await started(t)
  let runs = 0
  const release = deferred()
  graceful.check('db', async () => { runs++; await release.promise }, { cacheMs: 60_000, timeoutMs: 5000 })
  const probes = Array.from({ length: 50 }, async () => await graceful.probe('ready'))
  release.resolve()
  const answers = await within(Promise.all(probes), 5000, 'probes')
  t.equal(runs, 1, 'one run for 50 probes')
  t.ok(answers.every((a) => a.statusCode === 200))
  await graceful.probe('ready')
  t.equal(runs, 1, 'a later probe within cacheMs reuses the result')
})

t.test('with cacheMs 0 every probe runs the check again, but simultaneous probes still share one run', async (t) => {
  const graceful = await started(t)
  let runs = 0
  graceful.check('db', async () => { runs++ }, { cacheMs: 0 })
  await Promise.all(Array.from({ length: 50 }, async () => await graceful.probe('ready')))
  t.equal(runs, 1)
  await graceful.probe('ready')
  await graceful.probe('ready')
  t.equal(runs, 3)
})

t.test('/health never runs a check, nor does readiness while starting or once shutdown began', async (t) => {
  const graceful = createGraceful(quiet())
  let runs = 0
  graceful.check('db', () => { runs++; return false }, { cacheMs: 0 })
  const starting = await graceful.probe('ready')
  t.same(starting.body, { status: 'starting', ready: false }, 'no checks while starting')
  await running(graceful)
  for (let i = 0; i < 5; i++) t.equal((await graceful.probe('health')).statusCode, 200)
  t.equal(runs, 0, 'liveness ran no check')
  t.same((await graceful.probe('health')).body, { status: 'healthy', ready: true }, 'liveness shows the lifecycle only')
  t.equal((await graceful.probe('ready')).statusCode, 503)
  t.equal(runs, 1)
  const run = graceful.shutdown()
  const draining = await graceful.probe('ready')
  t.same(draining.body, { status: 'draining', ready: false })
  await within(run, 5000, 'shutdown')
  t.same((await graceful.probe('ready')).body, { status: 'stopped', ready: false })
  t.equal(runs, 1, 'no check ran once shutdown began')
})

t.test('a check in flight when shutdown begins sees its signal abort and logs nothing', async (t) => {
  const logger = recordingLogger()
  const graceful = createGraceful(quiet(logger))
  await running(graceful)
  const entered = deferred()
  let checkSignal: AbortSignal | undefined
  graceful.check('db', async (signal) => { checkSignal = signal; entered.resolve(); await untilAborted(signal); throw signal.reason })
  const probe = graceful.probe('ready')
  await entered.promise
  const run = graceful.shutdown()
  const answer = await within(probe, 2000, 'probe')
  t.equal(checkSignal?.aborted, true)
  t.equal(answer.statusCode, 503)
  t.notOk('checks' in answer.body, 'the answer reflects shutdown, not the aborted check')
  await run
  t.notOk(logger.entries.some((e) => e.obj.check === 'db'), 'no check failure logged')
})

t.test('logs one line per check per change of outcome, not one per probe', async (t) => {
  const logger = recordingLogger()
  const graceful = await started(t, logger)
  let healthy = true
  graceful.check('db', () => { if (!healthy) throw new Error('down') }, { cacheMs: 0 })
  const checkLines = (): Array<[string, unknown]> => logger.entries.filter((e) => e.obj.check === 'db').map((e) => [e.level, e.obj.outcome])
  for (let i = 0; i < 5; i++) await graceful.probe('ready')
  t.same(checkLines(), [], 'a check that starts ok logs nothing')
  healthy = false
  for (let i = 0; i < 5; i++) await graceful.probe('ready')
  t.same(checkLines(), [['warn', 'fail']], 'ok → fail: one line for five failing probes')
  healthy = true
  for (let i = 0; i < 5; i++) await graceful.probe('ready')
  t.same(checkLines(), [['warn', 'fail'], ['info', 'ok']], 'fail → ok: one line')
  healthy = false
  await graceful.probe('ready')
  t.equal(checkLines().length, 3, 'every change is logged')
})

t.test('readiness() is synchronous and returns the last known result; probe("ready") refreshes it', async (t) => {
  const graceful = await started(t)
  let up = true
  graceful.check('db', () => up, { cacheMs: 0 })
  t.same(graceful.readiness(), { status: 'healthy', ready: true, checks: {} }, 'no check has run yet')
  await graceful.probe('ready')
  t.same(graceful.readiness(), { status: 'healthy', ready: true, checks: { db: 'ok' } })
  up = false
  t.same(graceful.readiness(), { status: 'healthy', ready: true, checks: { db: 'ok' } }, 'readiness() runs nothing')
  await graceful.probe('ready')
  t.same(graceful.readiness(), { status: 'unavailable', ready: false, checks: { db: 'fail' } })
})

t.test('handleProbe answers /ready with the checks over HTTP', async (t) => {
  const graceful = createGraceful(quiet())
  graceful.check('db', () => false)
  const server = http.createServer((req, res) => { if (!graceful.handleProbe(req, res)) res.end('ok') })
  graceful.addServer(server)
  server.listen(0, '127.0.0.1')
  t.teardown(async () => { await graceful.shutdown() })
  await running(graceful)
  const { port } = server.address() as { port: number }
  const res = await fetch(`http://127.0.0.1:${port}/ready`)
  t.equal(res.status, 503)
  t.equal(await res.text(), '{"status":"unavailable","ready":false,"checks":{"db":"fail"}}')
})

t.test('bad check input throws at registration, naming the option', async (t) => {
  const graceful = createGraceful(quiet())
  t.throws(() => graceful.check('', () => true), /check\(name\) must be a non-empty string/)
  t.throws(() => graceful.check('db', 'ping' as never), /check\('db', fn\) must be a function/)
  t.throws(() => graceful.check('db', () => true, { timeoutMs: 0 }), /check\('db'\) options.timeoutMs must be a positive number/)
  t.throws(() => graceful.check('db', () => true, { cacheMs: -1 }), /check\('db'\) options.cacheMs must be a non-negative number/)
  t.throws(() => graceful.check('db', () => true, { critical: 'yes' as never }), /check\('db'\) options.critical must be a boolean/)
  t.throws(() => graceful.check('db', () => true, { ttl: 5 } as never), /check\('db'\) options.ttl must be one of timeoutMs, cacheMs, critical/)
  graceful.check('db', () => true)
  t.throws(() => graceful.check('db', () => true), /check\(name\) must be unique among readiness checks/)
  await graceful.shutdown()
  t.throws(() => graceful.check('late', () => true), { name: 'GracefulStateError', message: /check\('late'\)/ })
})
