/**
 * Signals, in child processes running test/fixtures/service.mjs (default logger: JSON lines on
 * stdout). The in-process handler registry is in core-signal-handlers.test.ts.
 */
import t, { type Test } from 'tap'
import type { ShutdownReport } from '../src/index.js'
import { exitWithin, isReady, type Line, reportLines, spawnFixture, type Fixture } from './helpers/child.js'
import { delay } from './helpers/inprocess.js'

// Each test runs its own child process: run a few at once.
t.jobs = 3

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
  t.same(child.lines().filter((l) => l.fixture === 'state').map((l) => l.state), ['running', 'draining', 'cleaning', 'persisting', 'stopped'], 'starting → running once listening, then one run of the shutdown states')
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

/** Starts a scenario, sends `first`, waits for `state`, sends `second` 200 ms later; returns the exit and the report. */
async function signalTwice (t: Test, scenario: string, options: object, first: NodeJS.Signals, state: string, second: NodeJS.Signals) {
  const child = spawnFixture(t, 'service.mjs', [scenario], { GRACEFUL_OPTIONS: JSON.stringify(options) })
  await child.waitForLine(isReady)
  child.kill(first)
  await child.waitForLine(isState(state))
  await delay(200)
  const secondAt = performance.now()
  child.kill(second)
  const exit = await exitWithin(child)
  return { child, exit, report: reportOf(child), afterSecondMs: performance.now() - secondAt }
}

t.test('forces a quick non-zero exit on a second SIGINT and logs the phase that was cut', async (t) => {
  // A tracked task that never ends holds the drain for the whole 120 s grace period.
  const { child, exit, report, afterSecondMs } = await signalTwice(t, 'hang-task', { gracePeriodMs: 120_000 }, 'SIGINT', 'draining', 'SIGINT')
  t.ok(afterSecondMs < 10_000, 'exits quickly after the second signal, not after the 120 s grace period')
  t.equal(exit.signal, null)
  t.not(exit.code, 0, 'non-zero exit')
  t.equal(report.forced, true)
  t.equal(report.forcedDuring, 'drain')
  t.equal(report.exitCode, exit.code)
  t.equal(report.tasks.aborted, 1)
  const forcing = child.lines().find((l) => typeof l.msg === 'string' && /forcing/.test(l.msg))
  t.ok(forcing, 'a line says the exit was forced')
  t.match(forcing?.msg, /drain/, 'and names the phase that was cut')
  t.equal(forcing?.phase, 'drain')
})

t.test('forces on SIGTERM then SIGINT at least 150 ms apart', async (t) => {
  const { child, exit, report } = await signalTwice(t, 'hang-task', { gracePeriodMs: 120_000 }, 'SIGTERM', 'draining', 'SIGINT')
  t.equal(exit.code, 1)
  t.equal(report.reason, 'SIGTERM')
  t.equal(report.forced, true)
  t.equal(started(child).length, 1, 'the second signal started no second run')
})

t.test('forces on SIGINT during cleanup and skips the remaining hooks', async (t) => {
  const { child, exit, report } = await signalTwice(t, 'hang-cleanup', { gracePeriodMs: 120_000 }, 'SIGTERM', 'cleaning', 'SIGINT')
  t.equal(exit.code, 1)
  t.equal(report.forced, true)
  t.equal(report.forcedDuring, 'cleanup')
  t.same(report.hooks.map((h) => [h.name, h.outcome]), [['stuck-cleanup', 'timeout'], ['close-db', 'skipped'], ['save-state', 'skipped']])
  t.ok(child.lines().some((l) => typeof l.msg === 'string' && /forcing/.test(l.msg) && /cleanup/.test(l.msg)), 'the log names the cleanup phase')
})

t.test('forces on a second signal while the pre-stop delay runs', async (t) => {
  const { exit, report } = await signalTwice(t, 'basic', { preStopDelayMs: 60_000, gracePeriodMs: 120_000 }, 'SIGTERM', 'draining', 'SIGTERM')
  t.equal(exit.code, 1)
  t.equal(report.forced, true)
  t.equal(report.forcedDuring, 'preStop')
  t.equal(report.phases.preStop.endedBy, 'forced')
  t.ok(report.phases.preStop.durationMs < 10_000, `the 60 s pre-stop delay was cut (${report.phases.preStop.durationMs} ms)`)
})

t.test('keeps serving through the pre-stop delay after one signal, then exits 0', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['basic'], { GRACEFUL_OPTIONS: JSON.stringify({ preStopDelayMs: 2000 }) })
  const ready = await child.waitForLine(isReady)
  child.kill('SIGTERM')
  await child.waitForLine(isState('draining'))
  const res = await fetch(`http://127.0.0.1:${String(ready.port)}/`)
  t.equal(res.status, 200, 'served during pre-stop')
  t.equal(res.headers.get('connection'), 'keep-alive', 'on a connection opened during pre-stop, kept alive until the drain')
  t.equal(await res.text(), 'ok')
  t.same(await exitWithin(child), { code: 0, signal: null })
  const report = reportOf(child)
  t.equal(report.phases.preStop.endedBy, 'fixed')
  t.ok(report.phases.preStop.durationMs >= 1990, `waited the delay (${report.phases.preStop.durationMs} ms)`)
})

t.test('writes the last log lines before exiting: a big line from a persist hook, then the report', async (t) => {
  const child = spawnFixture(t, 'service.mjs', ['big-persist'])
  await child.waitForLine(isReady)
  child.kill('SIGTERM')
  t.same(await exitWithin(child), { code: 0, signal: null })
  const lines = child.lines()
  const big = lines.find((l) => l.fixture === 'big')
  t.ok(big, 'the big line arrived whole')
  t.equal((big?.data as string | undefined)?.length, 512 * 1024)
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
