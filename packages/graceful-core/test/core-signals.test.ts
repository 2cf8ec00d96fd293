/**
 * Signals, in child processes running test/fixtures/service.mjs (default logger: JSON lines on
 * stdout), plus the in-process handler registry.
 */
import t from 'tap'
import http from 'node:http'
import { createGraceful, type ShutdownReport } from '../src/index.js'
import { exitWithin, isReady, type Line, reportLines, spawnFixture, type Fixture } from './helpers/child.js'
import { delay, deferred, quiet, within } from './helpers/inprocess.js'

const isState = (state: string) => (line: Line): boolean => line.fixture === 'state' && line.state === state
const reportOf = (fixture: Fixture): ShutdownReport => {
  const lines = reportLines(fixture)
  if (lines.length !== 1) throw new Error(`expected one report line, got ${lines.length}; stdout:\n${fixture.stdout()}`)
  return lines[0]!.report as ShutdownReport
}
const started = (fixture: Fixture): Line[] => fixture.lines().filter((l) => l.msg === 'shutdown started; readiness reports draining')

t.test('exits 0 on SIGTERM and logs the report line on stdout', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['basic'])
  await child.waitForLine(isReady)
  child.kill('SIGTERM')
  const exit = await exitWithin(child)
  t.same(exit, { code: 0, signal: null })
  const report = reportOf(child)
  t.equal(report.reason, 'SIGTERM')
  t.equal(report.exitCode, 0)
  t.equal(report.forced, false)
  t.same(report.hooks.map((h) => [h.name, h.outcome]), [['close-db', 'ok'], ['save-state', 'ok']])
  t.same(child.lines().filter((l) => l.fixture === 'state').map((l) => l.state), ['draining', 'cleaning', 'persisting', 'stopped'])
  t.equal(started(child).length, 1, 'one run')
  t.equal(child.stderr(), '', 'nothing on stderr')
})

t.test('exits 0 on SIGINT too', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['basic'])
  await child.waitForLine(isReady)
  child.kill('SIGINT')
  t.same(await exitWithin(child), { code: 0, signal: null })
  t.equal(reportOf(child).reason, 'SIGINT')
})

t.test('starts one run for two SIGTERMs sent within a millisecond and exits 0', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['basic'])
  await child.waitForLine(isReady)
  process.kill(child.child.pid!, 'SIGTERM')
  process.kill(child.child.pid!, 'SIGTERM')
  t.same(await exitWithin(child), { code: 0, signal: null })
  const report = reportOf(child)
  t.equal(report.forced, false)
  t.equal(report.exitCode, 0)
  t.equal(started(child).length, 1, 'one run started')
})

t.test('forces a quick non-zero exit on a second SIGINT and logs the phase that was cut', async (t) => {
  // A tracked task that never ends holds the drain for most of the 10 s grace period.
  const child = spawnFixture(t, 'service.mjs', ['hang-task'])
  await child.waitForLine(isReady)
  child.kill('SIGINT')
  await child.waitForLine(isState('draining'))
  await delay(200)
  const secondAt = performance.now()
  child.kill('SIGINT')
  const exit = await exitWithin(child, 5000)
  t.ok(performance.now() - secondAt < 3000, 'exits quickly after the second signal')
  t.equal(exit.signal, null)
  t.not(exit.code, 0, 'non-zero exit')
  const report = reportOf(child)
  t.equal(report.forced, true)
  t.equal(report.forcedDuring, 'draining')
  t.equal(report.exitCode, exit.code)
  t.equal(report.tasks.aborted, 1)
  const forcing = child.lines().find((l) => typeof l.msg === 'string' && /forcing/.test(l.msg))
  t.ok(forcing, 'a line says the exit was forced')
  t.match(forcing?.msg, /draining/, 'and names the phase that was cut')
  t.equal(forcing?.phase, 'draining')
})

t.test('forces on SIGTERM then SIGINT at least 150 ms apart', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['hang-task'])
  await child.waitForLine(isReady)
  child.kill('SIGTERM')
  await child.waitForLine(isState('draining'))
  await delay(200)
  child.kill('SIGINT')
  const exit = await exitWithin(child, 5000)
  t.equal(exit.code, 1)
  const report = reportOf(child)
  t.equal(report.reason, 'SIGTERM')
  t.equal(report.forced, true)
  t.equal(started(child).length, 1, 'the second signal started no second run')
})

t.test('forces on SIGINT during cleanup and skips the remaining hooks', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['hang-cleanup'], { GRACEFUL_OPTIONS: JSON.stringify({ gracePeriodMs: 120_000 }) })
  await child.waitForLine(isReady)
  child.kill('SIGTERM')
  await child.waitForLine(isState('cleaning'))
  await delay(200)
  child.kill('SIGINT')
  const exit = await exitWithin(child, 5000)
  t.equal(exit.code, 1)
  const report = reportOf(child)
  t.equal(report.forced, true)
  t.equal(report.forcedDuring, 'cleaning')
  t.same(report.hooks.map((h) => [h.name, h.outcome]), [['stuck-cleanup', 'timeout'], ['close-db', 'skipped'], ['save-state', 'skipped']])
  t.ok(child.lines().some((l) => typeof l.msg === 'string' && /forcing/.test(l.msg) && /cleaning/.test(l.msg)), 'the log names the cleaning phase')
})

t.test('forces on a second signal while the pre-stop delay runs', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['basic'], { GRACEFUL_OPTIONS: JSON.stringify({ preStopDelayMs: 20_000, gracePeriodMs: 60_000 }) })
  await child.waitForLine(isReady)
  child.kill('SIGTERM')
  await child.waitForLine(isState('draining'))
  await delay(200)
  child.kill('SIGTERM')
  const exit = await exitWithin(child, 5000)
  t.equal(exit.code, 1)
  const report = reportOf(child)
  t.equal(report.forced, true)
  t.equal(report.forcedDuring, 'draining')
  t.equal(report.phases.preStop.endedBy, 'forced')
  t.ok(report.phases.preStop.durationMs < 5000, `the pre-stop delay was cut (${report.phases.preStop.durationMs} ms)`)
})

t.test('keeps serving through the pre-stop delay after one signal, then exits 0', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['basic'], { GRACEFUL_OPTIONS: JSON.stringify({ preStopDelayMs: 300 }) })
  const ready = await child.waitForLine(isReady)
  child.kill('SIGTERM')
  await child.waitForLine(isState('draining'))
  const res = await fetch(`http://127.0.0.1:${String(ready.port)}/`)
  t.equal(res.status, 200, 'served during pre-stop')
  t.equal(res.headers.get('connection'), 'close', 'with Connection: close')
  t.equal(await res.text(), 'ok')
  t.same(await exitWithin(child), { code: 0, signal: null })
  const report = reportOf(child)
  t.equal(report.phases.preStop.endedBy, 'fixed')
  t.ok(report.phases.preStop.durationMs >= 290, `waited the delay (${report.phases.preStop.durationMs} ms)`)
})

t.test('writes the last log lines before exiting: a big line from a persist hook, then the report', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['big-persist'])
  await child.waitForLine(isReady)
  child.kill('SIGTERM')
  t.same(await exitWithin(child, 10_000), { code: 0, signal: null })
  const lines = child.lines()
  const big = lines.find((l) => l.fixture === 'big')
  t.ok(big, 'the big line arrived whole')
  t.equal((big?.data as string | undefined)?.length, 2_000_000)
  t.ok(lines.length > 0 && 'report' in lines[lines.length - 1]!, 'the report line is the last line')
  t.ok(child.stdout().endsWith('\n'), 'and it is complete')
})

t.test('leaves a host-installed SIGTERM listener alone and still calls it', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['host-listener'])
  await child.waitForLine(isReady)
  child.kill('SIGTERM')
  t.same(await exitWithin(child), { code: 0, signal: null })
  t.same(child.lines().filter((l) => l.fixture === 'host-listener').map((l) => l.signal), ['SIGTERM'], 'the host listener ran once')
  t.equal(reportOf(child).exitCode, 0)
})

t.test('exits 143 on SIGTERM with exitWithSignalCode', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['basic'], { GRACEFUL_OPTIONS: JSON.stringify({ exitWithSignalCode: true }) })
  await child.waitForLine(isReady)
  child.kill('SIGTERM')
  t.same(await exitWithin(child), { code: 143, signal: null })
  t.equal(reportOf(child).exitCode, 143)
})

t.test('exits 130 on SIGINT with exitWithSignalCode', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['basic'], { GRACEFUL_OPTIONS: JSON.stringify({ exitWithSignalCode: true }) })
  await child.waitForLine(isReady)
  child.kill('SIGINT')
  t.same(await exitWithin(child), { code: 130, signal: null })
})

t.test('shuts down cleanly on a SIGTERM that arrives before the server finished listening', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['listen-race'])
  const exit = await exitWithin(child)
  t.same(exit, { code: 0, signal: null })
  t.equal(reportOf(child).reason, 'SIGTERM')
})

t.test('leaves the process running with exit: false', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['exit-false'], { GRACEFUL_OPTIONS: JSON.stringify({ exit: false }) })
  await child.waitForLine(isReady)
  child.kill('SIGTERM')
  const exit = await exitWithin(child)
  t.same(exit, { code: 7, signal: null }, 'the process decided its own exit')
  const lines = child.lines()
  const reportAt = lines.findIndex((l) => 'report' in l)
  const aliveAt = lines.findIndex((l) => l.fixture === 'still-alive')
  t.ok(reportAt !== -1 && aliveAt > reportAt, 'still running after the report')
})

t.test('installs one signal handler however many coordinators, and removes it when the last stops', async (t) => {
  const baseTerm = process.listenerCount('SIGTERM')
  const baseInt = process.listenerCount('SIGINT')
  const list = [1, 2, 3].map(() => createGraceful({ ...quiet(), signals: ['SIGTERM', 'SIGINT'] }))
  const only = createGraceful({ ...quiet(), signals: ['SIGTERM'] })
  t.teardown(async () => { await Promise.all([...list, only].map(async (g) => await g.shutdown())) })
  t.equal(process.listenerCount('SIGTERM'), baseTerm + 1, 'one SIGTERM handler for four coordinators')
  t.equal(process.listenerCount('SIGINT'), baseInt + 1, 'one SIGINT handler for three')
  await within(list[0]!.shutdown(), 5000, 'shutdown')
  await within(list[1]!.shutdown(), 5000, 'shutdown')
  t.equal(process.listenerCount('SIGTERM'), baseTerm + 1, 'still installed while coordinators remain')
  await within(list[2]!.shutdown(), 5000, 'shutdown')
  t.equal(process.listenerCount('SIGINT'), baseInt, 'SIGINT handler removed with its last coordinator')
  t.equal(process.listenerCount('SIGTERM'), baseTerm + 1, 'SIGTERM kept for the remaining coordinator')
  await within(only.shutdown(), 5000, 'shutdown')
  t.equal(process.listenerCount('SIGTERM'), baseTerm, 'removed once the last one stopped')
})

t.test('keeps a host SIGTERM listener installed after stopping and delivers the signal to every coordinator', async (t) => {
  const baseline = process.listenerCount('SIGUSR2')
  const hostCalls: string[] = []
  const host = (signal: string): void => { hostCalls.push(signal) }
  process.on('SIGUSR2', host)
  t.teardown(() => { process.off('SIGUSR2', host) })
  const a = createGraceful({ ...quiet(), signals: ['SIGUSR2'] })
  const b = createGraceful({ ...quiet(), signals: ['SIGUSR2'] })
  t.equal(process.listenerCount('SIGUSR2'), baseline + 2, 'host listener plus one graceful handler')
  const reports = Promise.all([
    new Promise<ShutdownReport>((resolve) => a.once('report', resolve)),
    new Promise<ShutdownReport>((resolve) => b.once('report', resolve))
  ])
  process.kill(process.pid, 'SIGUSR2')
  const [ra, rb] = await within(reports, 5000, 'both reports')
  t.equal(ra.reason, 'SIGUSR2')
  t.equal(rb.reason, 'SIGUSR2')
  t.same(hostCalls, ['SIGUSR2'], 'the host listener was called')
  t.equal(process.listeners('SIGUSR2').includes(host), true, 'and is still installed')
  t.equal(process.listenerCount('SIGUSR2'), baseline + 1, 'graceful\'s own handler is gone')
})

t.test('does not force on a first signal after a programmatic shutdown', async (t) => {
  const baseline = process.listenerCount('SIGUSR2')
  const graceful = createGraceful({ ...quiet(), signals: ['SIGUSR2'] })
  const hanging = deferred()
  t.teardown(() => hanging.resolve())
  const entered = deferred()
  graceful.onCleanup('waits', () => { entered.resolve(); return hanging.promise })
  const run = graceful.shutdown('app.close()')
  await within(entered.promise, 5000, 'hook start')
  process.kill(process.pid, 'SIGUSR2')
  await delay(50)
  hanging.resolve()
  const report = await within(run, 5000, 'shutdown')
  t.equal(report.forced, false)
  t.same(report.hooks.map((h) => h.outcome), ['ok'])
  t.equal(process.listenerCount('SIGUSR2'), baseline)
})

t.test('leaves no listening server behind when shutdown runs before listen() finished', async (t) => {
  const graceful = createGraceful(quiet())
  const server = http.createServer((req, res) => res.end('ok'))
  t.teardown(() => { if (server.listening) server.close() })
  graceful.addServer(server)
  server.listen(0, '127.0.0.1')
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  await delay(100)
  t.equal(server.listening, false, 'not listening after the shutdown')
  t.equal(report.exitCode, 0)
})
