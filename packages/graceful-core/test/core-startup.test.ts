/**
 * Startup gating: `starting` until a macrotask passed, every startup task resolved and every added
 * server listens; a failing or late task runs the shutdown pipeline and exits 1; shutdown during
 * startup aborts the tasks' signal.
 */
import { once } from 'node:events'
import http from 'node:http'
import t from 'tap'
import { createGraceful, type Graceful, type State } from '../src/index.js'
import { holdStartup } from '../src/door.js'
import { exitWithin, reportLines, spawnFixture } from './helpers/child.js'
import { deferred, quiet, recordingLogger, untilAborted, within, exitCalled, nextState } from './helpers/inprocess.js'

/** Resolves once the coordinator reached `running` (at once when it already has). */
async function untilRunning (graceful: Graceful): Promise<void> {
  while (graceful.state === 'starting') await nextState(graceful)
}

const nextMacrotask = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

t.test('answers 503 starting on /ready and 200 on /health until a macrotask passed, then 200 ready, and logs ready', async (t) => {
  const logger = recordingLogger()
  const graceful = createGraceful(quiet(logger))
  const states: State[] = []
  graceful.on('state', (s) => states.push(s))
  t.equal(graceful.state, 'starting')
  const ready = await graceful.probe('ready')
  t.equal(ready.statusCode, 503)
  t.same(ready.body, { status: 'starting', ready: false })
  t.equal(JSON.stringify(ready.body), '{"status":"starting","ready":false}')
  t.equal((await graceful.probe('health')).statusCode, 200, '/health answers 200 while starting')
  await within(untilRunning(graceful), 2000, 'running')
  t.same(states, ['running'], "one 'state' event: running")
  const after = await graceful.probe('ready')
  t.equal(after.statusCode, 200)
  t.same(after.body, { status: 'healthy', ready: true })
  t.equal((await graceful.probe('health')).statusCode, 200)
  const line = logger.entries.find((e) => e.msg === 'ready')
  t.ok(line, "logs 'ready'")
  t.type(line?.obj.startupMs, 'number', 'with the startup duration')
  const report = await graceful.shutdown()
  t.equal(report.startup.ready, true)
  t.same(report.startup.tasks, [])
})

t.test('stays starting until every startup task resolved and the added server listens', async (t) => {
  const graceful = createGraceful(quiet())
  const server = http.createServer()
  t.teardown(() => { server.close() })
  const db = deferred()
  const cache = deferred()
  // Registered synchronously after creation, as an application's setup does.
  graceful.startup('db', db.promise)
  graceful.startup('cache', () => cache.promise)
  graceful.addServer(server)
  await nextMacrotask()
  t.equal(graceful.state, 'starting', 'tasks pending, server not listening')
  db.resolve()
  await nextMacrotask()
  t.equal(graceful.state, 'starting', 'one task still pending')
  cache.resolve()
  await nextMacrotask()
  t.equal(graceful.state, 'starting', 'the server does not listen yet')
  t.equal((await graceful.probe('ready')).statusCode, 503)
  server.listen(0, '127.0.0.1')
  await within(untilRunning(graceful), 2000, 'running')
  t.equal((await graceful.probe('ready')).statusCode, 200)
  const report = await graceful.shutdown()
  t.same(report.startup.tasks.map((task) => [task.name, task.outcome]), [['db', 'ok'], ['cache', 'ok']])
  t.equal(report.startup.ready, true)
  t.equal(report.exitCode, 0)
})

t.test('a server added while it already listens does not hold startup', async (t) => {
  const graceful = createGraceful(quiet())
  const server = http.createServer().listen(0, '127.0.0.1')
  t.teardown(() => { server.close() })
  await once(server, 'listening')
  graceful.addServer(server)
  await within(untilRunning(graceful), 2000, 'running')
  t.equal(graceful.state, 'running')
  await graceful.shutdown()
})

t.test('startup() once running throws a GracefulStateError naming the task', async (t) => {
  const graceful = createGraceful(quiet())
  await within(untilRunning(graceful), 2000, 'running')
  t.throws(() => graceful.startup('late', Promise.resolve()), { name: 'GracefulStateError', message: /startup\('late'\) was called in state 'running'/ })
  await graceful.shutdown()
  t.throws(() => graceful.startup('after', Promise.resolve()), { name: 'GracefulStateError', message: /startup\('after'\) was called in state 'stopped'/ })
})

t.test('bad startup input throws at registration, naming the option', async (t) => {
  const graceful = createGraceful(quiet())
  t.teardown(async () => { await graceful.shutdown() })
  t.throws(() => graceful.startup('' as string, Promise.resolve()), /startup\(name\) must be a non-empty string/)
  t.throws(() => graceful.startup('db', 42 as never), /startup\('db', task\) must be a Promise or a function/)
  t.throws(() => graceful.startup('db', Promise.resolve(), { timeoutMs: -1 }), /startup\('db'\) options.timeoutMs must be a positive number/)
  t.throws(() => graceful.startup('db', Promise.resolve(), { timeout: 5 } as never), /startup\('db'\) options.timeout must be one of timeoutMs \(unknown option\)/)
  graceful.startup('db', Promise.resolve())
  t.throws(() => graceful.startup('db', Promise.resolve()), /startup\(name\) must be unique among startup tasks/)
  t.throws(() => createGraceful({ ...quiet(), startupTimeoutMs: 0 }), /startupTimeoutMs must be a positive number/)
  t.throws(() => createGraceful({ ...quiet(), startupTimeoutMs: '5s' as never }), /startupTimeoutMs must be a positive number/)
})

t.test('a rejecting startup task is logged by name and runs the pipeline: cleanup and persist run, exit 1, reason names it', async (t) => {
  const logger = recordingLogger()
  const exits: number[] = []
  const graceful = createGraceful({ ...quiet(logger), exit: (code) => exits.push(code) })
  const ran: string[] = []
  graceful.onCleanup('pool', () => { ran.push('cleanup') })
  graceful.onPersist('state', () => { ran.push('persist') })
  const other = deferred()
  let otherSignal: AbortSignal | undefined
  graceful.startup('other', (signal) => { otherSignal = signal; return other.promise })
  graceful.startup('db', Promise.reject(new Error('connect ECONNREFUSED')))
  const report = await within(new Promise<Awaited<ReturnType<Graceful['shutdown']>>>((resolve) => graceful.once('report', resolve)), 5000, 'report')
  t.equal(report.reason, 'startup task db failed')
  t.equal(report.exitCode, 1)
  await exitCalled(exits)
  t.same(exits, [1], 'the process exits 1')
  t.same(ran, ['cleanup', 'persist'])
  t.equal(otherSignal?.aborted, true, "the other task's signal aborted")
  t.same(report.startup.tasks.map((task) => [task.name, task.outcome]), [['other', 'aborted'], ['db', 'error']])
  t.equal(report.startup.ready, false)
  const line = logger.entries.find((e) => e.level === 'error' && e.obj.startupTask === 'db')
  t.equal(line?.msg, 'startup task db failed', 'logged by name with its error')
  t.equal((line?.obj.err as Error).message, 'connect ECONNREFUSED')
  t.notOk(logger.entries.some((e) => e.msg === 'ready'), 'never ready')
})

t.test('a startup task that outlives its timeout aborts its signal and fails startup', async (t) => {
  const exits: number[] = []
  const graceful = createGraceful({ ...quiet(), exit: (code) => exits.push(code) })
  let taskSignal: AbortSignal | undefined
  graceful.startup('warm', async (signal) => { taskSignal = signal; await untilAborted(signal) }, { timeoutMs: 50 })
  const report = await within(new Promise<Awaited<ReturnType<Graceful['shutdown']>>>((resolve) => graceful.once('report', resolve)), 5000, 'report')
  t.equal(report.reason, 'startup task warm timed out')
  t.equal(report.exitCode, 1)
  await exitCalled(exits)
  t.same(exits, [1])
  t.equal(taskSignal?.aborted, true)
  t.equal(report.startup.tasks[0]?.outcome, 'timeout')
})

t.test('startupTimeoutMs caps every startup task, even one with a longer timeoutMs', async (t) => {
  const graceful = createGraceful({ ...quiet(), startupTimeoutMs: 50, exit: () => {} })
  graceful.startup('slow', new Promise(() => {}), { timeoutMs: 60_000 })
  const report = await within(new Promise<Awaited<ReturnType<Graceful['shutdown']>>>((resolve) => graceful.once('report', resolve)), 5000, 'report')
  t.equal(report.reason, 'startup task slow timed out')
  t.equal(report.exitCode, 1)
})

t.test('shutdown() while starting aborts the startup tasks and runs the normal pipeline without reaching running', async (t) => {
  const exits: number[] = []
  const graceful = createGraceful({ ...quiet(), exit: (code) => exits.push(code) })
  const states: State[] = []
  graceful.on('state', (s) => states.push(s))
  const ran: string[] = []
  graceful.onCleanup('pool', () => { ran.push('cleanup') })
  graceful.onPersist('state', () => { ran.push('persist') })
  let taskSignal: AbortSignal | undefined
  graceful.startup('migrate', async (signal) => {
    taskSignal = signal
    await untilAborted(signal)
    throw signal.reason
  })
  await nextMacrotask()
  const report = await within(graceful.shutdown('deploy'), 5000, 'shutdown')
  t.equal(taskSignal?.aborted, true)
  t.same(states, ['draining', 'cleaning', 'persisting', 'stopped'], 'never running')
  t.same(ran, ['cleanup', 'persist'])
  t.equal(report.exitCode, 0, 'an aborted startup task is not a failure')
  t.same(report.startup.tasks.map((task) => [task.name, task.outcome]), [['migrate', 'aborted']])
  t.equal(report.startup.ready, false)
  t.same(exits, [], 'a shutdown() started by code does not exit')
  t.same(graceful.readiness(), { status: 'stopped', ready: false })
})

t.test('a failing startup task in a real process: logged by name, cleanup and persist run, exit 1', async (t) => {
  const fx = spawnFixture(t, 'startup.mjs', ['failing-task'])
  const exit = await exitWithin(fx, 15_000)
  t.equal(exit.code, 1)
  const lines = fx.lines()
  const failed = lines.find((l) => l.msg === 'startup task db failed')
  t.ok(failed, 'the task is logged by name')
  t.match(failed, { startupTask: 'db', err: { message: 'connect ECONNREFUSED 127.0.0.1:5432' } })
  t.ok(lines.some((l) => l.fixture === 'cleanup'), 'cleanup ran')
  t.ok(lines.some((l) => l.fixture === 'persist'), 'persistence ran')
  const [summary] = reportLines(fx)
  t.match(summary?.report, { reason: 'startup task db failed', exitCode: 1, startup: { ready: false, tasks: [{ name: 'db', outcome: 'error' }] } })
  t.notOk(lines.some((l) => l.fixture === 'state' && l.state === 'running'), 'never running')
})

t.test('SIGTERM during startup aborts the startup task and shuts down as usual (exit 0)', async (t) => {
  const fx = spawnFixture(t, 'startup.mjs', ['pending-task'])
  await fx.waitForLine((l) => l.fixture === 'listening')
  await fx.waitForLine((l) => l.fixture === 'task-started')
  fx.kill('SIGTERM')
  const exit = await exitWithin(fx, 15_000)
  t.equal(exit.code, 0)
  const lines = fx.lines()
  t.ok(lines.some((l) => l.fixture === 'task-aborted'), "the task's signal aborted")
  t.ok(lines.some((l) => l.fixture === 'cleanup') && lines.some((l) => l.fixture === 'persist'), 'cleanup and persistence ran')
  const [summary] = reportLines(fx)
  t.match(summary?.report, { reason: 'SIGTERM', exitCode: 0, startup: { ready: false, tasks: [{ name: 'warm-cache', outcome: 'aborted' }] } })
  t.same(lines.filter((l) => l.fixture === 'state').map((l) => l.state), ['draining', 'cleaning', 'persisting', 'stopped'])
})

t.test('a door\'s hold keeps the instance starting past the setup tick until released, with no timeout of its own', async (t) => {
  const graceful = createGraceful({ ...quiet(), startupTimeoutMs: 50 })
  t.teardown(async () => { await graceful.shutdown() })
  const release = holdStartup(graceful)
  await new Promise((resolve) => setTimeout(resolve, 150))
  t.equal(graceful.state, 'starting', 'still starting after the setup tick and past startupTimeoutMs')
  graceful.startup('late', Promise.resolve())
  release()
  release()
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(graceful.state, 'running', 'running once released (a second release changes nothing)')
})
