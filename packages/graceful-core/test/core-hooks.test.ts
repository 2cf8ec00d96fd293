/**
 * Cleanup and persist hooks: order, outcomes under throw / rejection / timeout, late results,
 * the AbortSignal a hook receives, and the persistence reserve.
 */
import t from 'tap'
import { createGraceful, type HookReport } from '../src/index.js'
import { blockFor, deferred, delay, quiet, recordingLogger, within } from './helpers/inprocess.js'

const outcomes = (hooks: HookReport[]): Array<[string, string, string]> => hooks.map((h) => [h.phase, h.name, h.outcome])

t.test('runs cleanup hooks in reverse registration order', async (t) => {
  const graceful = createGraceful(quiet())
  const ran: string[] = []
  for (const name of ['first', 'second', 'third']) graceful.onCleanup(name, () => { ran.push(name) })
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.same(ran, ['third', 'second', 'first'])
  t.same(report.hooks.map((h) => h.name), ['third', 'second', 'first'])
})

t.test('runs persist hooks in registration order, after the cleanup hooks', async (t) => {
  const graceful = createGraceful(quiet())
  const ran: string[] = []
  graceful.onPersist('p1', () => { ran.push('p1') })
  graceful.onCleanup('c1', () => { ran.push('c1') })
  graceful.onPersist('p2', () => { ran.push('p2') })
  graceful.onCleanup('c2', () => { ran.push('c2') })
  graceful.onPersist('p3', () => { ran.push('p3') })
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.same(ran, ['c2', 'c1', 'p1', 'p2', 'p3'])
  t.same(outcomes(report.hooks), [
    ['cleanup', 'c2', 'ok'], ['cleanup', 'c1', 'ok'],
    ['persist', 'p1', 'ok'], ['persist', 'p2', 'ok'], ['persist', 'p3', 'ok']
  ])
  t.equal(report.exitCode, 0)
})

t.test('runs afterPersist cleanup hooks after the persist hooks, in reverse registration order', async (t) => {
  const graceful = createGraceful(quiet())
  const ran: string[] = []
  const states: string[] = []
  graceful.onCleanup('db-pool', () => { ran.push('db-pool'); states.push(graceful.state) }, { afterPersist: true })
  graceful.onCleanup('http-client', () => { ran.push('http-client'); states.push(graceful.state) })
  graceful.onCleanup('cache', () => { ran.push('cache'); states.push(graceful.state) }, { afterPersist: true })
  graceful.onPersist('save', () => { ran.push('save'); states.push(graceful.state) })
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.same(ran, ['http-client', 'save', 'cache', 'db-pool'])
  t.same(states, ['cleaning', 'persisting', 'persisting', 'persisting'])
  t.same(outcomes(report.hooks), [
    ['cleanup', 'http-client', 'ok'], ['persist', 'save', 'ok'], ['afterPersist', 'cache', 'ok'], ['afterPersist', 'db-pool', 'ok']
  ])
})

t.test('the report says when every phase and every hook started: in pipeline order, each hook inside the phase it names', async (t) => {
  const graceful = createGraceful({ ...quiet(), preStopDelayMs: 30 })
  graceful.onCleanup('db-pool', () => delay(10), { afterPersist: true })
  graceful.onCleanup('queue', () => delay(10))
  graceful.onCleanup('cache', () => delay(10))
  graceful.onPersist('save', () => delay(10))
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  const order = ['preStop', 'drain', 'cleanup', 'persist', 'afterPersist'] as const
  t.same(Object.keys(report.phases).sort(), [...order].sort(), 'the report has these phases')
  t.equal(report.phases.preStop.startMs, 0, 'pre-stop starts at the signal')
  t.ok(report.phases.preStop.durationMs >= 30, 'and lasts its window')
  let end = 0
  for (const name of order) {
    const { startMs, durationMs } = report.phases[name]
    t.ok(Number.isInteger(startMs) && Number.isInteger(durationMs) && durationMs >= 0, `${name} has startMs and durationMs in whole ms`)
    t.ok(startMs >= end, `${name} starts (${startMs}) once the phase before it ended (${end})`)
    end = startMs + durationMs
  }
  t.ok(end <= report.durationMs, 'the last phase ends within the run')
  t.same(report.hooks.map((h) => [h.phase, h.name]), [['cleanup', 'cache'], ['cleanup', 'queue'], ['persist', 'save'], ['afterPersist', 'db-pool']])
  let hookEnd = 0
  for (const hook of report.hooks) {
    const phase = report.phases[hook.phase]
    t.ok(hook.startMs >= phase.startMs && hook.startMs + hook.durationMs <= phase.startMs + phase.durationMs,
      `${hook.name} (${hook.startMs} + ${hook.durationMs}) lies inside ${hook.phase} (${phase.startMs} + ${phase.durationMs})`)
    t.ok(hook.startMs >= hookEnd, `${hook.name} starts after the hook before it ended`)
    hookEnd = hook.startMs + hook.durationMs
  }
})

t.test('runs every later hook after a throwing, a rejecting and a hanging hook, recording each outcome', async (t) => {
  const logger = recordingLogger()
  const graceful = createGraceful({ ...quiet(logger), hookTimeoutMs: 5000 })
  const ran: string[] = []
  // Reverse order: 'last' runs first, then hang, reject, throw, 'first'.
  graceful.onCleanup('first', () => { ran.push('first') })
  graceful.onCleanup('throws', () => { ran.push('throws'); throw new Error('sync boom') })
  graceful.onCleanup('rejects', async () => { ran.push('rejects'); await delay(5); throw new TypeError('async boom') })
  graceful.onCleanup('hangs', () => { ran.push('hangs'); return new Promise(() => {}) }, { timeoutMs: 150 })
  graceful.onCleanup('last', () => { ran.push('last') })
  graceful.onPersist('persist-throws', () => { ran.push('persist-throws'); throw new RangeError('persist boom') })
  graceful.onPersist('persist-hangs', () => { ran.push('persist-hangs'); return new Promise(() => {}) }, { timeoutMs: 150 })
  graceful.onPersist('persist-ok', () => { ran.push('persist-ok') })
  const started = performance.now()
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  const elapsed = performance.now() - started

  t.same(ran, ['last', 'hangs', 'rejects', 'throws', 'first', 'persist-throws', 'persist-hangs', 'persist-ok'])
  t.same(outcomes(report.hooks), [
    ['cleanup', 'last', 'ok'],
    ['cleanup', 'hangs', 'timeout'],
    ['cleanup', 'rejects', 'error'],
    ['cleanup', 'throws', 'error'],
    ['cleanup', 'first', 'ok'],
    ['persist', 'persist-throws', 'error'],
    ['persist', 'persist-hangs', 'timeout'],
    ['persist', 'persist-ok', 'ok']
  ])
  const byName = new Map(report.hooks.map((h) => [h.name, h]))
  t.same(byName.get('throws')?.error, { name: 'Error', message: 'sync boom' })
  t.same(byName.get('rejects')?.error, { name: 'TypeError', message: 'async boom' })
  t.same(byName.get('persist-throws')?.error, { name: 'RangeError', message: 'persist boom' })
  t.notOk('error' in byName.get('hangs')!, 'a timeout carries no error')
  t.ok(byName.get('hangs')!.durationMs >= 140, `the hanging hook was waited for its timeout (${byName.get('hangs')!.durationMs} ms)`)
  t.ok(byName.get('hangs')!.durationMs < 2000, 'and not much longer')
  t.ok(elapsed >= 290, `two 150 ms timeouts were waited (${Math.round(elapsed)} ms)`)
  t.ok(elapsed < 3000, `total time is bounded by the timeouts, not the 5 s default (${Math.round(elapsed)} ms)`)
  t.equal(report.exitCode, 1)
  t.equal(report.forced, false)
  const warned = logger.entries.filter((e) => e.level === 'warn' && typeof e.obj.hook === 'string').map((e) => [e.obj.hook, e.obj.outcome])
  t.same(warned, [['hangs', 'timeout'], ['rejects', 'error'], ['throws', 'error'], ['persist-throws', 'error'], ['persist-hangs', 'timeout']])
})

t.test('ignores the result of a hook that settles after its timeout', async (t) => {
  const graceful = createGraceful(quiet())
  const late = deferred()
  const lateFail = deferred()
  let finishedLate = false
  graceful.onCleanup('late-ok', async () => { await delay(250); finishedLate = true; late.resolve() }, { timeoutMs: 50 })
  graceful.onPersist('late-fail', async () => { await delay(250); lateFail.resolve(); throw new Error('too late to matter') }, { timeoutMs: 50 })
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.equal(finishedLate, false, 'the report did not wait for the late hook')
  const snapshot = JSON.parse(JSON.stringify(report))
  await within(Promise.all([late.promise, lateFail.promise]), 5000, 'late hooks')
  await delay(10)
  t.same(outcomes(report.hooks), [['cleanup', 'late-ok', 'timeout'], ['persist', 'late-fail', 'timeout']])
  t.same(report, snapshot, 'the late results changed nothing in the report')
  t.equal(report.exitCode, 1)
})

t.test('gives each hook an AbortSignal that aborts when its timeout cuts it', async (t) => {
  const graceful = createGraceful(quiet())
  let seen: AbortSignal | undefined
  let abortedAtStart: boolean | undefined
  const aborted = deferred<number>()
  let started = 0
  graceful.onCleanup('slow', (signal) => {
    seen = signal
    abortedAtStart = signal.aborted
    started = performance.now()
    signal.addEventListener('abort', () => aborted.resolve(performance.now() - started), { once: true })
    return new Promise(() => {})
  }, { timeoutMs: 100 })
  let okSignal: AbortSignal | undefined
  graceful.onPersist('fast', (signal) => { okSignal = signal })
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.ok(seen instanceof AbortSignal, 'the hook received an AbortSignal')
  t.equal(abortedAtStart, false, 'not aborted while the hook still has time')
  const abortedAfter = await within(aborted.promise, 1000, 'hook signal abort')
  t.ok(abortedAfter >= 90 && abortedAfter < 2000, `aborted when the timeout cut the hook (${Math.round(abortedAfter)} ms)`)
  t.equal(seen!.aborted, true)
  t.ok(seen!.reason instanceof Error, 'the abort reason is an Error')
  t.match(String((seen!.reason as Error).message), /slow/, 'the reason names the hook')
  t.not(okSignal, graceful.signal, 'each hook gets its own signal, not the shutdown signal')
  t.same(outcomes(report.hooks), [['cleanup', 'slow', 'timeout'], ['persist', 'fast', 'ok']])
})

t.test('gives a hook that calls shutdown() the same promise and completes the run', async (t) => {
  const graceful = createGraceful(quiet())
  let inner: Promise<unknown> | undefined
  let innerState: string | undefined
  graceful.onCleanup('calls-shutdown', () => {
    inner = graceful.shutdown('from a hook')
    innerState = graceful.state
  })
  graceful.onPersist('persist-calls-shutdown', () => { void graceful.shutdown() })
  const outer = graceful.shutdown('test')
  const report = await within(outer, 5000, 'shutdown (a deadlock would hang here)')
  t.equal(inner, outer, 'the hook got the very same promise')
  t.equal(innerState, 'cleaning')
  t.equal(report.reason, 'test', 'the reason of the first call stays')
  t.same(outcomes(report.hooks), [['cleanup', 'calls-shutdown', 'ok'], ['persist', 'persist-calls-shutdown', 'ok']])
  t.equal(graceful.state, 'stopped')
})

t.test('runs persistence after a cleanup hook that blocked the event loop past the grace period', async (t) => {
  const graceful = createGraceful({ ...quiet(), gracePeriodMs: 200, hookTimeoutMs: 50 })
  graceful.onCleanup('blocks', () => { blockFor(400) })
  graceful.onCleanup('after-block', async () => {}, { timeoutMs: 50 })
  let persisted = false
  graceful.onPersist('save', async () => { await delay(30); persisted = true }, { timeoutMs: 1000 })
  const started = performance.now()
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.ok(performance.now() - started >= 400, 'the blocking hook did block')
  t.equal(persisted, true, 'the persist hook ran to its end')
  const save = report.hooks.find((h) => h.name === 'save')
  t.equal(save?.phase, 'persist')
  t.equal(save?.outcome, 'ok', 'the persist hook kept its own timeout, not what was left of the grace period')
  t.ok(report.phases.persist.durationMs >= 25, 'the persist phase took the hook\'s time')
})

t.test('keeps the persist reserve when the drain uses up its share', async (t) => {
  // A task ignoring the shutdown signal holds the drain until its deadline.
  const graceful = createGraceful({ ...quiet(), gracePeriodMs: 600 })
  const timer = setTimeout(() => {}, 10_000)
  t.teardown(() => { clearTimeout(timer) })
  graceful.track(new Promise(() => {}))
  let persisted = false
  graceful.onPersist('save', async () => { await delay(100); persisted = true }, { timeoutMs: 250 })
  const started = performance.now()
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  const elapsed = performance.now() - started
  t.equal(persisted, true)
  t.same(outcomes(report.hooks), [['persist', 'save', 'ok']])
  t.equal(report.tasks.aborted, 1)
  t.ok(report.phases.drain.durationMs < 600, `the drain was cut before the grace period ended (${report.phases.drain.durationMs} ms)`)
  t.ok(elapsed < 3000, `bounded by the grace period (${Math.round(elapsed)} ms)`)
})
