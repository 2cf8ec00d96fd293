/**
 * Who starts the shutdown: a signal ends the process, code (shutdown(), a framework's close()) never
 * does; other signal handlers (NestJS enableShutdownHooks()) are detected; any logger is accepted.
 */
import t from 'tap'
import { createGraceful, type ShutdownReport } from '../src/index.js'
import { delay, quiet, recordingLogger, within, exitCalled, listening } from './helpers/inprocess.js'

/** SIGUSR2 stands for SIGTERM in-process: only sent while a coordinator's handler is installed. */
const SIGNAL = 'SIGUSR2'

function nextReport (graceful: ReturnType<typeof createGraceful>): Promise<ShutdownReport> {
  return within(new Promise<ShutdownReport>((resolve) => graceful.once('report', resolve)), 10_000, 'the report')
}

t.test('a run started by shutdown() resolves with the report and never calls exit', async (t) => {
  const exits: number[] = []
  const graceful = createGraceful({ ...quiet(), exit: (code) => { exits.push(code) } })
  graceful.onCleanup('broken', () => { throw new Error('broken') })
  t.equal(graceful.shutdownReason, undefined, 'no reason before the run')
  const report = await within(graceful.shutdown('app.close()'), 5000, 'shutdown')
  t.equal(report.reason, 'app.close()')
  t.equal(graceful.shutdownReason, 'app.close()', 'shutdownReason names the caller\'s reason')
  t.equal(report.exitCode, 1, 'the report still says how it went')
  t.same(exits, [], 'exit was not called: the caller goes on')
})

t.test('a signal arriving during a run started by code makes that run end the process', async (t) => {
  const exits: number[] = []
  const graceful = createGraceful({ ...quiet(), signals: [SIGNAL], exit: (code) => { exits.push(code) }, preStopDelayMs: 2000 })
  const run = graceful.shutdown('app.close()')
  await delay(50)
  process.kill(process.pid, SIGNAL)
  const report = await within(run, 5000, 'shutdown')
  t.equal(report.forced, false, 'the signal joined the run; it did not force it')
  await exitCalled(exits)
  t.same(exits, [0], 'exit called once the run ended')
})

t.test('warns, naming the signal, when another listener for it is installed at start-up', async (t) => {
  const foreign = (): void => {}
  process.on(SIGNAL, foreign)
  t.teardown(() => { process.off(SIGNAL, foreign) })
  const logger = recordingLogger()
  const graceful = createGraceful({ ...quiet(logger), signals: [SIGNAL] })
  t.teardown(() => graceful.shutdown())
  const warning = logger.entries.find((e) => e.level === 'warn' && e.obj.signal === SIGNAL)
  t.ok(warning, 'a warning names the signal')
  t.match(warning?.msg, /other SIGUSR2 listener/, 'says another listener exists')
  t.match(warning?.msg, /enableShutdownHooks/, 'and what to do about the common case')
})

t.test('a foreign handler that closes the server at once and re-sends the signal: noticed, reported, not a forced exit', async (t) => {
  const server = await listening(t)
  const logger = recordingLogger()
  const exits: number[] = []
  // The re-send comes 200 ms after the signal: a pre-stop of 3 s keeps the run (and its handler) there
  // for it on a loaded machine, where a timer can be late by far more than 200 ms.
  const graceful = createGraceful({ ...quiet(logger), signals: [SIGNAL], preStopDelayMs: 3000, exit: (code) => { exits.push(code) } })
  graceful.addServer(server)
  // What NestJS enableShutdownHooks() does: close the server at once, remove itself, signal again.
  const foreign = (signal: NodeJS.Signals): void => {
    server.close()
    process.off(SIGNAL, foreign)
    setTimeout(() => process.kill(process.pid, signal), 200)
  }
  process.on(SIGNAL, foreign)
  t.teardown(() => { process.off(SIGNAL, foreign) })
  const reported = nextReport(graceful)
  process.kill(process.pid, SIGNAL)
  const report = await reported
  t.equal(report.forced, false, 'the re-sent signal did not force the exit')
  t.equal(report.exitCode, 0, 'exit code 0')
  await exitCalled(exits)
  t.same(exits, [0])
  t.equal(report.phases.drain.listenerClosedBy, 'other', 'the report says someone else closed the listener')
  t.ok(report.phases.drain.listenerClosedAtMs < report.phases.preStop.durationMs,
    `and when: ${report.phases.drain.listenerClosedAtMs} ms, before pre-stop ended at ${report.phases.preStop.durationMs} ms`)
  const messages = logger.entries.filter((e) => e.level === 'warn').map((e) => e.msg ?? '')
  t.ok(messages.some((m) => /stopped listening before the drain/.test(m)), 'the early close is warned about')
  t.ok(messages.some((m) => /sent again after another SIGUSR2 handler/.test(m)), 'the re-sent signal is explained')
})

t.test('the report says when graceful itself closed the listener', async (t) => {
  const server = await listening(t)
  const graceful = createGraceful({ ...quiet(), preStopDelayMs: 100 })
  graceful.addServer(server)
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.equal(report.phases.drain.listenerClosedBy, 'graceful')
  t.ok(report.phases.drain.listenerClosedAtMs >= report.phases.preStop.durationMs, 'after pre-stop')
  t.equal(Object.hasOwn(server, 'close'), false, 'the server\'s close() is its own again once stopped')
})

t.test('a second signal from the user (the foreign listener still installed) still forces', async (t) => {
  const foreign = (): void => {}
  process.on(SIGNAL, foreign)
  t.teardown(() => { process.off(SIGNAL, foreign) })
  const graceful = createGraceful({ ...quiet(), signals: [SIGNAL], preStopDelayMs: 5000, exit: () => {} })
  const reported = nextReport(graceful)
  process.kill(process.pid, SIGNAL)
  await delay(200)
  process.kill(process.pid, SIGNAL)
  const report = await reported
  t.equal(report.forced, true)
  t.equal(report.forcedDuring, 'preStop')
})

t.test('accepts a message-first logger (NestJS Logger shape): every line, the summary included, reaches it', async (t) => {
  const lines: Array<[string, string]> = []
  const nestLike = {
    log: (message: string) => { lines.push(['log', message]) },
    warn: (message: string) => { lines.push(['warn', message]) },
    error: (message: string) => { lines.push(['error', message]) }
  }
  const graceful = createGraceful({ signals: [], exit: false, logger: nestLike })
  graceful.onCleanup('broken', () => { throw new Error('boom') })
  const report = await within(graceful.shutdown('test'), 5000, 'shutdown')
  t.ok(lines.some(([level, m]) => level === 'log' && m.startsWith('shutdown started')), 'info lines go to log()')
  t.ok(lines.some(([level, m]) => level === 'warn' && /cleanup hook failed/.test(m) && /boom/.test(m)), 'warnings go to warn(), with their fields')
  const summary = lines.find(([, m]) => m.startsWith('shutdown incomplete'))
  t.equal(summary?.[0], 'error', 'the summary of a failed run goes to error()')
  t.match(summary?.[1], `exit ${report.exitCode}`, 'one readable line with the exit code')
  t.notMatch(summary?.[1], /"report"/, 'not the report as JSON')
})

t.test('accepts console as the logger', async (t) => {
  const graceful = createGraceful({ signals: [], exit: false, logger: { info: () => {}, warn: () => {}, error: () => {}, log: () => {} } })
  t.equal((await graceful.shutdown()).exitCode, 0)
  t.doesNotThrow(() => createGraceful({ signals: [], exit: false, logger: console }).shutdown())
})

t.test('rejects a logger with neither info nor log, naming both shapes', async (t) => {
  t.throws(() => createGraceful({ signals: [], logger: { warn: () => {}, error: () => {} } as never }),
    { code: 'GRACEFUL_ERR_INVALID_OPTION', message: /logger must be .*info, warn and error.*log, warn and error/ })
})

t.test('a signal-exit listener (it steps aside when others listen) is not warned about', async (t) => {
  // The shape of signal-exit's listener: it acts only when it is the last listener left.
  const signalExitLike = function listener (sig: string): void {
    const listeners = process.listeners(sig as NodeJS.Signals)
    if (listeners.length === 1) process.kill(process.pid, sig)
  }
  process.on(SIGNAL, signalExitLike)
  t.teardown(() => { process.off(SIGNAL, signalExitLike) })
  const logger = recordingLogger()
  const graceful = createGraceful({ ...quiet(logger), signals: [SIGNAL] })
  t.teardown(() => graceful.shutdown())
  t.same(logger.entries.filter((e) => e.level === 'warn'), [])
})
