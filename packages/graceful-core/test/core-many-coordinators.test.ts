/**
 * Several coordinators in one process (two fastify apps, a public API and an admin port): one signal
 * starts them all, the process exits once, after the last run ended, with the worst exit code; one
 * server belongs to one coordinator. The two-apps process is in test/many-coordinators.test.ts.
 */
import t from 'tap'
import { createGraceful, GracefulStateError } from '../src/index.js'
import { delay, exitCalled, quiet, recordingLogger, within, listening } from './helpers/inprocess.js'

/** SIGUSR2 stands for SIGTERM in-process: only sent while a coordinator's handler is installed. */
const SIGNAL = 'SIGUSR2'

t.test('one signal starts every coordinator; the process exits once, after the slowest, with the worst code', async (t) => {
  const exits: number[] = []
  const exitedThrough: string[] = []
  const logger = recordingLogger()
  const fast = createGraceful({ ...quiet(logger), signals: [SIGNAL], exit: (code) => { exitedThrough.push('fast'); exits.push(code) } })
  const slow = createGraceful({ ...quiet(), signals: [SIGNAL], exit: (code) => { exitedThrough.push('slow'); exits.push(code) } })
  const persisted: string[] = []
  fast.onPersist('fast-state', () => { persisted.push('fast') })
  slow.onPersist('slow-state', async () => {
    await delay(400)
    persisted.push('slow')
  })
  slow.onCleanup('broken', () => { throw new Error('cleanup failed') })
  const reports = Promise.all([fast, slow].map(async (g) => await new Promise((resolve) => g.once('report', resolve))))
  process.kill(process.pid, SIGNAL)
  await within(reports, 10_000, 'both reports')
  await exitCalled(exits)
  await delay(50)
  t.same(persisted, ['fast', 'slow'], 'both persist hooks ran')
  t.same(exits, [1], 'exit is called once, with the worst code (the slow run failed)')
  t.same(exitedThrough, ['fast'], 'through the exit of the first run that asked')
  const waiting = logger.entries.find((e) => /other graceful coordinator/.test(e.msg ?? ''))
  t.ok(waiting, 'the first run to finish says it waits for the other')
})

t.test('a clean exit waits for a run started by code in another coordinator', async (t) => {
  const exits: number[] = []
  const signalled = createGraceful({ ...quiet(), signals: [SIGNAL], exit: (code) => { exits.push(code) } })
  const byCode = createGraceful(quiet())
  let persistedByCode = false
  byCode.onPersist('state', async () => {
    await delay(300)
    persistedByCode = true
  })
  const run = byCode.shutdown('app.close()')
  process.kill(process.pid, SIGNAL)
  await within(new Promise((resolve) => signalled.once('report', resolve)), 10_000, 'the signalled report')
  t.same(exits, [], 'no exit while the other run is under way')
  await within(run, 10_000, 'the run started by code')
  await exitCalled(exits)
  t.ok(persistedByCode, 'the other run persisted before the exit')
  t.same(exits, [0], 'then exit 0')
})

t.test('a second coordinator on the same server is refused; a stopped coordinator releases its server', async (t) => {
  const server = await listening(t)
  const first = createGraceful(quiet())
  first.addServer(server)
  const second = createGraceful(quiet())
  t.throws(() => second.addServer(server), GracefulStateError, 'addServer throws a GracefulStateError')
  t.throws(() => second.addServer(server), /another graceful coordinator already drains this server; use one coordinator per server/, 'and says what to do')
  t.doesNotThrow(() => first.addServer(server), 'its own coordinator may add it again')
  const other = await listening(t)
  t.doesNotThrow(() => second.addServer(other), 'a different server is fine')
  await within(first.shutdown(), 10_000, 'the first shutdown')
  const third = createGraceful(quiet())
  t.doesNotThrow(() => third.addServer(server), 'once the first stopped, another coordinator may take the server')
  await within(Promise.all([second.shutdown(), third.shutdown()]), 10_000, 'the other shutdowns')
})
