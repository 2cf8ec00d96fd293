/** Process faults while shutting down, in a child process (test/fixtures/faults.mjs). */
import t, { type Test } from 'tap'
import http from 'node:http'
import type { ShutdownReport } from '../src/index.js'
import { exitWithin, type Fixture, isReady, reportLines, spawnFixture } from './helpers/child.js'

const FAULTS = ['rejected while draining', 'thrown by a request handler while draining', 'thrown from a timer while draining']

/** Starts the fixture, sends SIGTERM, makes one request during pre-stop (its handler throws) and waits for the exit. */
async function runFaults (t: Test): Promise<{ child: Fixture, body: string, exit: { code: number | null, signal: NodeJS.Signals | null } }> {
  const child = spawnFixture(t, 'faults.mjs')
  const ready = await child.waitForLine(isReady)
  child.kill('SIGTERM')
  await child.waitForLine((l) => l.fixture === 'state' && l.state === 'draining')
  const body = await new Promise<string>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: Number(ready.port), path: '/' }, (res) => {
      let data = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { data += c })
      res.on('end', () => resolve(data))
      res.on('error', reject)
    })
    req.on('error', reject)
    t.teardown(() => { req.destroy() })
  })
  const exit = await exitWithin(child)
  return { child, body, exit }
}

t.test('records an uncaught exception and an unhandled rejection while draining, finishes and exits 1', async (t) => {
  const { child, body, exit } = await runFaults(t)
  t.equal(body, 'bye', 'the request was served before its handler threw')
  t.same(exit, { code: 1, signal: null })
  const reports = reportLines(child)
  t.equal(reports.length, 1, 'the shutdown completed and logged its report')
  const report = reports[0]!.report as ShutdownReport
  t.equal(report.exitCode, 1)
  t.same(report.faults.map((f) => f.message).sort(), FAULTS)
  t.ok(report.faults.every((f) => f.name === 'Error'))
  const logged = child.lines().filter((l) => l.level === 50 && !('report' in l) && 'err' in l)
  t.equal(logged.length, 3, 'one error line per fault')
  t.same(child.lines().filter((l) => l.fixture === 'persisted').map((l) => l.persisted), [true], 'persistence still ran')
  t.same(report.hooks.map((h) => [h.name, h.outcome]), [['save-state', 'ok']])
  t.same(report.tasks, { finished: 1, failed: 0, aborted: 0 })
})

t.test('logs what each fault was with the default logger', async (t) => {
  const { child } = await runFaults(t)
  const logged = child.lines().filter((l) => l.level === 50 && !('report' in l) && 'err' in l)
  for (const message of FAULTS) {
    t.ok(logged.some((l) => JSON.stringify(l.err).includes(message)), `the log line carries the error message: ${message}`)
  }
})
