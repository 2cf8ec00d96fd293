/** Process-wide listeners: many coordinators leave no listener behind and trigger no MaxListenersExceededWarning. */
import t from 'tap'
import { createGraceful } from '../src/index.js'
import { within } from './helpers/inprocess.js'

const EVENTS = ['SIGTERM', 'SIGINT', 'uncaughtException', 'unhandledRejection'] as const
const counts = (): Record<string, number> => Object.fromEntries(EVENTS.map((e) => [e, process.listenerCount(e)]))

function watchWarnings (t: { teardown: (fn: () => void) => void }): Array<{ name: string, message: string }> {
  const warnings: Array<{ name: string, message: string }> = []
  const onWarning = (w: Error): void => { warnings.push({ name: w.name, message: w.message }) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  return warnings
}

t.test('leaves listener counts at baseline after 1,000 create/shutdown cycles', async (t) => {
  const baseline = counts()
  const warnings = watchWarnings(t)
  let maxSeen = counts()
  for (let i = 0; i < 1000; i++) {
    const graceful = createGraceful({ exit: false, logger: false })
    graceful.onCleanup('c', () => {})
    graceful.onPersist('p', () => {})
    const run = graceful.shutdown(`cycle ${i}`)
    const during = counts()
    maxSeen = Object.fromEntries(EVENTS.map((e) => [e, Math.max(maxSeen[e]!, during[e]!)]))
    const report = await within(run, 5000, `shutdown ${i}`)
    if (report.exitCode !== 0) t.fail(`cycle ${i} exited ${report.exitCode}`)
  }
  await new Promise((resolve) => setImmediate(resolve))
  t.same(counts(), baseline, 'every listener removed')
  t.same(maxSeen, Object.fromEntries(EVENTS.map((e) => [e, baseline[e]! + 1])), 'at most one of each installed at a time')
  t.same(warnings.filter((w) => w.name === 'MaxListenersExceededWarning'), [], 'no MaxListenersExceededWarning')
})

t.test('installs each process listener once while 20 coordinators shut down at the same time', async (t) => {
  const baseline = counts()
  const warnings = watchWarnings(t)
  const all = Array.from({ length: 20 }, () => createGraceful({ exit: false, logger: false, preStopDelayMs: 50 }))
  t.teardown(async () => { await Promise.all(all.map(async (g) => await g.shutdown())) })
  t.same(counts(), { ...baseline, SIGTERM: baseline.SIGTERM! + 1, SIGINT: baseline.SIGINT! + 1 }, 'one signal handler each for 20 coordinators')
  const runs = all.map((g) => g.shutdown())
  const during = counts()
  await within(Promise.all(runs), 5000, 'shutdowns')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(counts(), baseline, 'every listener removed')
  t.ok(during.uncaughtException! <= baseline.uncaughtException! + 1, `uncaughtException listeners while 20 shut down: ${during.uncaughtException! - baseline.uncaughtException!} added`)
  t.ok(during.unhandledRejection! <= baseline.unhandledRejection! + 1, `unhandledRejection listeners while 20 shut down: ${during.unhandledRejection! - baseline.unhandledRejection!} added`)
  t.same(warnings.filter((w) => w.name === 'MaxListenersExceededWarning'), [], 'no MaxListenersExceededWarning')
})
