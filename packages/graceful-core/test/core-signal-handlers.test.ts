/**
 * The process-wide signal handler registry, in-process: one handler per signal however many
 * coordinators, removed with the last one; host listeners left alone. SIGUSR2 is only sent while
 * a coordinator's handler is installed.
 */
import t from 'tap'
import http from 'node:http'
import { createGraceful, type ShutdownReport } from '../src/index.js'
import { delay, deferred, quiet, within } from './helpers/inprocess.js'

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
