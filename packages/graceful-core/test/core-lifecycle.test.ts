/**
 * One run of the pipeline: idempotent shutdown, state order, readiness, the shutdown signal,
 * tracked tasks, the report and the exit.
 */
import t from 'tap'
import { createGraceful, type Readiness, type ShutdownReport, type State } from '../src/index.js'
import { deferred, delay, quiet, recordingLogger, untilAborted, within, exitCalled, nextState } from './helpers/inprocess.js'

t.test('returns the same promise and report to three concurrent callers and runs once', async (t) => {
  const graceful = createGraceful(quiet())
  let cleanups = 0
  let persists = 0
  const states: State[] = []
  graceful.on('state', (s) => states.push(s))
  graceful.onCleanup('count', async () => { cleanups++; await delay(20) })
  graceful.onPersist('count', () => { persists++ })
  const a = graceful.shutdown('a')
  const b = graceful.shutdown('b')
  const c = graceful.shutdown()
  t.equal(b, a, 'second caller gets the same promise')
  t.equal(c, a, 'third caller gets the same promise')
  const [ra, rb, rc] = await within(Promise.all([a, b, c]), 5000, 'shutdown')
  t.equal(rb, ra)
  t.equal(rc, ra)
  t.equal(ra.reason, 'a', 'the first reason is kept')
  t.equal(cleanups, 1, 'the cleanup hook ran once')
  t.equal(persists, 1, 'the persist hook ran once')
  t.same(states, ['draining', 'cleaning', 'persisting', 'stopped'], 'one run of the states')
  t.equal(graceful.shutdown('later'), a, 'a caller after the end gets the same promise')
})

t.test('returns the same promise to a shutdown signal listener that calls shutdown()', async (t) => {
  const graceful = createGraceful(quiet())
  let fromListener: Promise<ShutdownReport> | undefined
  let runs = 0
  graceful.on('state', (s) => { if (s === 'draining') runs++ })
  graceful.signal.addEventListener('abort', () => { fromListener = graceful.shutdown('abort listener') }, { once: true })
  const outer = graceful.shutdown('outer')
  const report = await within(outer, 5000, 'shutdown')
  await within(fromListener ?? Promise.resolve(undefined), 5000, 'listener shutdown')
  t.equal(fromListener, outer, 'the listener got the very same promise')
  t.equal(runs, 1, 'the pipeline ran once')
  t.equal(report.reason, 'outer')
})

t.test('returns the same promise to a state listener that calls shutdown()', async (t) => {
  const graceful = createGraceful(quiet())
  const fromListener: Array<Promise<ShutdownReport>> = []
  let drainingEvents = 0
  graceful.on('state', (s) => {
    if (s !== 'draining') return
    drainingEvents++
    if (drainingEvents > 3) return // bounded, should a re-entrant run start
    fromListener.push(graceful.shutdown('state listener'))
  })
  const outer = graceful.shutdown('outer')
  await within(Promise.all([outer, ...fromListener]), 5000, 'shutdown')
  t.equal(drainingEvents, 1, 'draining was entered once')
  t.equal(fromListener.length, 1)
  t.equal(fromListener[0], outer, 'the listener got the very same promise')
})

t.test('emits the states in order starting → running → draining → cleaning → persisting → stopped', async (t) => {
  const graceful = createGraceful(quiet())
  const seen: Array<[State, State]> = []
  t.equal(graceful.state, 'starting', 'starts starting')
  graceful.on('state', (s) => seen.push([s, graceful.state]))
  await within(nextState(graceful), 2000, 'running')
  await within(graceful.shutdown(), 5000, 'shutdown')
  t.same(seen.map(([s]) => s), ['running', 'draining', 'cleaning', 'persisting', 'stopped'])
  t.ok(seen.every(([event, current]) => event === current), 'the state getter agrees with each event')
  t.equal(graceful.state, 'stopped')
})

t.test('reports readiness for each state', async (t) => {
  const graceful = createGraceful(quiet())
  const seen: Array<[State, Readiness]> = [['starting', graceful.readiness()]]
  graceful.on('state', (s) => seen.push([s, graceful.readiness()]))
  await within(nextState(graceful), 2000, 'running')
  graceful.onCleanup('c', () => { seen.push(['cleaning', graceful.readiness()]) })
  graceful.onPersist('p', () => { seen.push(['persisting', graceful.readiness()]) })
  await within(graceful.shutdown(), 5000, 'shutdown')
  const expected: Record<State, Readiness> = {
    starting: { status: 'starting', ready: false },
    running: { status: 'healthy', ready: true },
    draining: { status: 'draining', ready: false },
    cleaning: { status: 'draining', ready: false },
    persisting: { status: 'draining', ready: false },
    stopped: { status: 'stopped', ready: false }
  }
  t.same(seen.map(([s]) => s), ['starting', 'running', 'draining', 'cleaning', 'cleaning', 'persisting', 'persisting', 'stopped'])
  for (const [state, readiness] of seen) t.match(readiness, expected[state], `readiness while ${state}`)
  t.match(graceful.readiness(), expected.stopped)
})

t.test('reports draining readiness synchronously when shutdown() is called', async (t) => {
  const graceful = createGraceful({ ...quiet(), preStopDelayMs: 50 })
  const p = graceful.shutdown()
  t.equal(graceful.state, 'draining')
  t.match(graceful.readiness(), { status: 'draining', ready: false })
  await within(p, 5000, 'shutdown')
})

t.test('aborts signal when shutdown starts', async (t) => {
  const graceful = createGraceful({ ...quiet(), preStopDelayMs: 100 })
  t.equal(graceful.signal.aborted, false, 'not aborted while running')
  let stateAtAbort: State | undefined
  graceful.signal.addEventListener('abort', () => { stateAtAbort = graceful.state }, { once: true })
  const p = graceful.shutdown('maintenance')
  t.equal(graceful.signal.aborted, true, 'aborted synchronously at shutdown start')
  t.equal(stateAtAbort, 'draining')
  t.match(String((graceful.signal.reason as Error)?.message), /maintenance/, 'the reason names why')
  await within(p, 5000, 'shutdown')
})

t.test('counts a task that honours the signal as finished', async (t) => {
  const graceful = createGraceful(quiet())
  let sawSignal: AbortSignal | undefined
  graceful.track(async (signal) => {
    sawSignal = signal
    await untilAborted(signal)
    await delay(30)
  })
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.equal(sawSignal, graceful.signal, 'a function task receives the shutdown signal')
  t.same(report.tasks, { finished: 1, failed: 0, aborted: 0 })
  t.equal(report.exitCode, 0)
})

t.test('starts a function task at once, as documented for track()', async (t) => {
  const graceful = createGraceful(quiet())
  let startedWith: AbortSignal | undefined
  graceful.track(async (signal) => { startedWith = signal })
  t.equal(startedWith, graceful.signal, 'called synchronously by track() with the shutdown signal')
  await within(graceful.shutdown(), 5000, 'shutdown')
})

t.test('waits for tracked promises during the drain', async (t) => {
  const graceful = createGraceful(quiet())
  let done = false
  graceful.track(delay(150).then(() => { done = true }))
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.equal(done, true)
  t.ok(report.phases.drain.durationMs >= 100, `the drain waited for the task (${report.phases.drain.durationMs} ms)`)
  t.same(report.tasks, { finished: 1, failed: 0, aborted: 0 })
})

t.test('aborts a task that ignores the signal at the drain deadline and exits 1', async (t) => {
  const graceful = createGraceful({ ...quiet(), gracePeriodMs: 300 })
  const stubborn = deferred()
  t.teardown(() => stubborn.resolve())
  graceful.track(stubborn.promise)
  graceful.track(async (signal) => { await untilAborted(signal) })
  const started = performance.now()
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  const elapsed = performance.now() - started
  t.same(report.tasks, { finished: 1, failed: 0, aborted: 1 })
  t.equal(report.exitCode, 1)
  t.ok(elapsed >= 250 && elapsed < 3000, `cut at the deadline (${Math.round(elapsed)} ms)`)
})

t.test('counts a rejecting task as failed', async (t) => {
  const logger = recordingLogger()
  const graceful = createGraceful(quiet(logger))
  graceful.track(async (signal) => {
    await untilAborted(signal)
    throw new Error('task broke')
  })
  graceful.track(delay(20))
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.same(report.tasks, { finished: 1, failed: 1, aborted: 0 })
  t.equal(report.exitCode, 1)
  t.ok(logger.entries.some((e) => e.level === 'error' && (e.obj.err as Error | undefined)?.message === 'task broke'), 'the failure is logged')
})

t.test('accepts tasks tracked while draining', async (t) => {
  const graceful = createGraceful({ ...quiet(), preStopDelayMs: 50 })
  const p = graceful.shutdown()
  let done = false
  graceful.track(delay(40).then(() => { done = true }))
  const report = await within(p, 5000, 'shutdown')
  t.equal(done, true)
  t.equal(report.tasks.finished, 1)
})

const REPORT_KEYS = ['reason', 'startedAt', 'endedAt', 'durationMs', 'exitCode', 'forced', 'phases', 'requests', 'probes', 'sockets', 'tasks', 'longLived', 'hooks', 'startup', 'faults']

t.test('produces a plain JSON report with every field', async (t) => {
  const graceful = createGraceful(quiet())
  graceful.onCleanup('c', () => {})
  graceful.onPersist('p', () => { throw new Error('nope') })
  graceful.track(delay(10))
  const before = Date.now()
  const report = await within(graceful.shutdown('deploy'), 5000, 'shutdown')
  const after = Date.now()
  t.same(JSON.parse(JSON.stringify(report)), report, 'survives a JSON round trip unchanged')
  t.strictSame(JSON.parse(JSON.stringify(report)), { ...report }, 'strictly')
  t.same(Object.keys(report).filter((k) => k !== 'forcedDuring').sort(), [...REPORT_KEYS].sort())
  t.notOk('forcedDuring' in report, 'forcedDuring only when forced')
  t.equal(report.reason, 'deploy')
  t.equal(report.forced, false)
  const started = Date.parse(report.startedAt)
  const ended = Date.parse(report.endedAt)
  t.ok(started >= before - 1 && started <= ended && ended <= after + 1, 'ISO timestamps around the run')
  t.ok(Number.isInteger(report.durationMs) && report.durationMs >= 0)
  t.match(report.phases, {
    preStop: { durationMs: Number, endedBy: 'fixed', requests: 0 },
    drain: { durationMs: Number, listenerClosedAtMs: Number },
    cleanup: { durationMs: Number },
    persist: { durationMs: Number }
  })
  for (const phase of Object.values(report.phases)) t.ok(Number.isInteger(phase.durationMs) && phase.durationMs >= 0)
  t.same(report.requests, { inFlightAtSignal: 0, completedAfterSignal: 0 })
  t.same(report.sockets, { closedIdle: 0, closedAfterResponse: 0, destroyed: 0 })
  t.same(report.tasks, { finished: 1, failed: 0, aborted: 0 })
  t.match(report.hooks, [
    { name: 'c', phase: 'cleanup', outcome: 'ok', durationMs: Number },
    { name: 'p', phase: 'persist', outcome: 'error', durationMs: Number, error: { name: 'Error', message: 'nope' } }
  ])
  t.same(report.faults, [])
})

t.test('a signal-started run calls an injected exit with 0 after a clean run', async (t) => {
  const codes: number[] = []
  const graceful = createGraceful({ ...quiet(), signals: ['SIGUSR2'], exit: (code) => { codes.push(code) } })
  graceful.onCleanup('c', () => {})
  graceful.onPersist('p', () => {})
  const reported = new Promise<ShutdownReport>((resolve) => graceful.once('report', resolve))
  process.kill(process.pid, 'SIGUSR2')
  const report = await within(reported, 5000, 'shutdown')
  await within(graceful.shutdown(), 5000, 'the run to resolve')
  t.equal(report.exitCode, 0)
  t.same(codes, [0], 'exit called once, with 0')
})

t.test('a signal-started run calls an injected exit with 1 when a hook fails', async (t) => {
  const codes: number[] = []
  let reportAtExit: ShutdownReport | undefined
  const graceful = createGraceful({ ...quiet(), signals: ['SIGUSR2'], exit: (code) => { codes.push(code) } })
  graceful.on('report', (r) => { reportAtExit = r })
  graceful.onCleanup('broken', () => { throw new Error('broken') })
  process.kill(process.pid, 'SIGUSR2')
  await within(new Promise((resolve) => graceful.once('report', resolve)), 5000, 'shutdown')
  const report = await within(graceful.shutdown(), 5000, 'the run to resolve')
  t.equal(report.exitCode, 1)
  t.same(codes, [1])
  t.equal(reportAtExit, report, 'the report event carries the same report')
})

t.test('reports exit code 1 when a hook times out', async (t) => {
  const graceful = createGraceful(quiet())
  graceful.onPersist('slow', () => new Promise(() => {}), { timeoutMs: 30 })
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.equal(report.exitCode, 1)
})

t.test('leaves the process alone with exit: false', async (t) => {
  const exitCodeBefore = process.exitCode
  const graceful = createGraceful(quiet())
  graceful.onCleanup('broken', () => { throw new Error('broken') })
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.equal(report.exitCode, 1)
  t.equal(process.exitCode, exitCodeBefore, 'process.exitCode untouched')
})

t.test('emits the report event once, before the promise resolves, and logs one summary line', async (t) => {
  const logger = recordingLogger()
  const graceful = createGraceful(quiet(logger))
  const events: ShutdownReport[] = []
  let resolved = false
  graceful.on('report', (r) => { t.equal(resolved, false, 'emitted before the promise resolved'); events.push(r) })
  const report = await within(graceful.shutdown().then((r) => { resolved = true; return r }), 5000, 'shutdown')
  t.equal(events.length, 1)
  t.equal(events[0], report)
  const summaries = logger.entries.filter((e) => 'report' in e.obj)
  t.equal(summaries.length, 1, 'one summary line')
  t.same(summaries[0]?.obj.report, report)
  t.equal(summaries[0]?.level, 'info')
  t.match(summaries[0]?.msg, /shutdown complete/)
})

t.test('keeps going when a state or report listener throws', async (t) => {
  const logger = recordingLogger()
  const graceful = createGraceful(quiet(logger))
  graceful.on('state', () => { throw new Error('bad state listener') })
  graceful.on('report', () => { throw new Error('bad report listener') })
  let persisted = false
  graceful.onPersist('p', () => { persisted = true })
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.equal(persisted, true)
  t.equal(graceful.state, 'stopped')
  t.equal(report.exitCode, 0)
  t.ok(logger.entries.filter((e) => e.level === 'error' && (e.obj.err as Error | undefined)?.message === 'bad state listener').length >= 4, 'each throw is logged')
})

t.test('sets forced, forcedDuring and exit 1 when a second signal forces', async (t) => {
  // SIGUSR2 is only sent while the coordinator's handler is installed (the hook is still hanging).
  const codes: number[] = []
  const logger = recordingLogger()
  const baseline = process.listenerCount('SIGUSR2')
  const graceful = createGraceful({ signals: ['SIGUSR2'], logger, exit: (code) => { codes.push(code) } })
  t.equal(process.listenerCount('SIGUSR2'), baseline + 1, 'one handler installed')
  t.teardown(() => { if (graceful.state !== 'stopped') void graceful.shutdown() })
  const entered = deferred()
  const hanging = deferred()
  t.teardown(() => hanging.resolve())
  graceful.onCleanup('after', () => {})
  graceful.onCleanup('hangs', () => { entered.resolve(); return hanging.promise }, { timeoutMs: 10_000 })
  graceful.onPersist('skipped', () => {})
  const reportEvent = new Promise<ShutdownReport>((resolve) => graceful.once('report', resolve))
  process.kill(process.pid, 'SIGUSR2')
  await within(entered.promise, 5000, 'cleanup hook start')
  t.equal(graceful.state, 'cleaning')
  await delay(150)
  process.kill(process.pid, 'SIGUSR2')
  const started = performance.now()
  const report = await within(reportEvent, 5000, 'forced report')
  t.ok(performance.now() - started < 3000, 'the forced run ends quickly')
  t.equal(report.reason, 'SIGUSR2')
  t.equal(report.forced, true)
  t.equal(report.forcedDuring, 'cleanup')
  t.equal(report.exitCode, 1)
  t.same(report.hooks.map((h) => [h.name, h.outcome]), [['hangs', 'timeout'], ['after', 'skipped'], ['skipped', 'skipped']])
  await exitCalled(codes)
  t.same(codes, [1])
  t.ok(logger.entries.some((e) => e.level === 'error' && /cleanup/.test(e.msg ?? '')), 'the log names the phase that was cut')
  t.equal(process.listenerCount('SIGUSR2'), baseline, 'the signal handler is gone once stopped')
})
