/**
 * The budget: pre-stop never eats the drain. The rule (budget.ts) and the worked examples of the
 * README's "Budget" table, the creation-time warning, and the case that used to reset requests.
 */
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Agent, request } from 'undici'
import { budgetWarnings, gracePeriodFitting, planBudget } from '../src/budget.js'
import { createGraceful } from '../src/index.js'
import { resolveOptions } from '../src/options.js'
import { quiet, recordingLogger, within, exitCalled } from './helpers/inprocess.js'

const SIGNAL = 'SIGUSR2'
const hooks = (persistMs: number, cleanupMs = 0) => ({ persistMs, cleanupMs })

/** The rows of the README's "Budget" table: gracePeriodMs, pre-stop configured, hook timeouts, then what the rule gives. */
function readmeBudgetRows (): Array<{ row: string, cells: string[] }> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Budget\n'), readme.indexOf('## Architecture\n'))
  return section.split('\n').filter((line) => /^\| \d/.test(line)).map((row) => ({ row, cells: row.split('|').slice(1, -1).map((c) => c.trim()) }))
}
const firstNumber = (cell: string): number => Number(/\d+/.exec(cell)?.[0] ?? 0)

t.test('the README budget table is what the rule gives: pre-stop takes at most two thirds of what the hooks leave', async (t) => {
  const rows = readmeBudgetRows()
  t.ok(rows.length >= 4, 'the table has its worked examples')
  for (const { row, cells } of rows) {
    const [grace, preStop, hookTimeouts, hooksGet, preStopRuns, drainKeeps] = cells as [string, string, string, string, string, string]
    const options = /Kubernetes/.test(preStop)
      ? { gracePeriodMs: firstNumber(grace), preStopDelayMs: 1000, preStopQuietMs: 1000 }
      : { gracePeriodMs: firstNumber(grace), preStopDelayMs: firstNumber(preStop) }
    const budget = planBudget(resolveOptions(options, {}), hooks(firstNumber(hookTimeouts)))
    t.match(budget, { hooksMs: firstNumber(hooksGet), preStopMs: firstNumber(preStopRuns), drainMinMs: firstNumber(drainKeeps) }, row)
    t.ok(budget.drainMinMs * 3 >= budget.gracePeriodMs - budget.hooksMs - 1, 'the drain keeps at least a third')
    const warned = budgetWarnings(budget, { ...resolveOptions(options, {}), terminationGracePeriodMs: undefined }).length > 0
    t.equal(warned, /warned/.test(row), warned ? 'warned, as the table says' : 'no warning, as the table says')
  }
})

t.test('the gracePeriodMs a warning proposes lets the configured pre-stop run whole', async (t) => {
  for (const [preStopMs, hookTimeoutsMs] of [[9000, 5000], [40_000, 0], [15_000, 15_000], [1, 0], [10_000, 100_000]]) {
    const fitting = gracePeriodFitting(preStopMs!, hookTimeoutsMs!)
    const at = (gracePeriodMs: number): number => planBudget({ gracePeriodMs, preStopDelayMs: preStopMs!, preStopQuietMs: 0, preStopMaxMs: preStopMs!, longLived: { spreadMs: 0, spreadGiven: false } }, hooks(hookTimeoutsMs!)).preStopMs
    t.equal(at(fitting), preStopMs, `${preStopMs} ms with ${hookTimeoutsMs} ms of hooks fits ${fitting}`)
    t.ok(at(fitting - 1) < preStopMs!, 'and it is the smallest that does')
  }
})

t.test('a pre-stop that does not fit is shortened at creation, with a warning naming preStopDelayMs, gracePeriodMs and the values that fit', async (t) => {
  const logger = recordingLogger()
  const graceful = createGraceful({ ...quiet(logger), preStopDelayMs: 9000, gracePeriodMs: 10_000 })
  graceful.onPersist('state', () => {})
  await sleep(10)
  const warning = logger.entries.find((e) => e.level === 'warn' && /preStopDelayMs/.test(e.msg ?? ''))
  t.ok(warning, 'warned once setup was done')
  t.match(warning?.msg, /preStopDelayMs \(9000\) does not fit gracePeriodMs \(10000\)/)
  t.match(warning?.msg, /shortened to 3333 ms; set preStopDelayMs to at most 3333, or gracePeriodMs to at least 18500/)
  const fits = resolveOptions({ preStopDelayMs: 9000, gracePeriodMs: 18_500 }, {})
  t.same(budgetWarnings(planBudget(fits, hooks(5000)), fits), [], 'the proposed gracePeriodMs warns of nothing')
  await graceful.shutdown()
  t.equal(logger.entries.filter((e) => /preStopDelayMs/.test(e.msg ?? '')).length, 1, 'the warning is logged once')
})

t.test('ordinary settings warn of nothing: gracePeriodMs 5000 and one persist hook with the default 5 s timeout', async (t) => {
  const logger = recordingLogger()
  const graceful = createGraceful({ ...quiet(logger), gracePeriodMs: 5000 })
  graceful.onPersist('state', () => {})
  await sleep(10)
  t.same(logger.entries.filter((e) => e.level === 'warn'), [], 'no warning at start-up')
  const options = resolveOptions({ gracePeriodMs: 5000 }, {})
  t.same(budgetWarnings(planBudget(options, hooks(5000)), options), [], 'and none from the rule')
  await graceful.shutdown()
})

t.test('hooks that cannot end within gracePeriodMs even after an instant drain are warned of, naming the gracePeriodMs that holds them', async (t) => {
  const logger = recordingLogger()
  const graceful = createGraceful({ ...quiet(logger), gracePeriodMs: 5000, preStopDelayMs: 1000 })
  graceful.onPersist('state', () => {}, { timeoutMs: 4000 })
  graceful.onCleanup('queue', () => {}, { timeoutMs: 4000 })
  await sleep(10)
  const warnings = logger.entries.filter((e) => e.level === 'warn')
  t.equal(warnings.length, 1, 'one warning')
  t.match(warnings[0]?.msg, /the hooks' timeouts add up to 8000 ms: after a pre-stop of 1000 ms they cannot end within gracePeriodMs \(5000\)/)
  t.match(warnings[0]?.msg, /set gracePeriodMs to at least 9000/, 'it names the value that would work')
  const fits = resolveOptions({ gracePeriodMs: 9000, preStopDelayMs: 1000 }, {})
  t.same(budgetWarnings(planBudget(fits, hooks(4000, 4000)), fits), [], 'the proposed gracePeriodMs warns of nothing')
  const justShort = resolveOptions({ gracePeriodMs: 8999, preStopDelayMs: 1000 }, {})
  t.equal(budgetWarnings(planBudget(justShort, hooks(4000, 4000)), justShort).length, 1, 'and it is the smallest that does not')
  await graceful.shutdown()
})

t.test('a long-lived close window that does not fit half of the drain is shortened, with a warning naming longLived.spreadMs and the values that fit', async (t) => {
  const logger = recordingLogger()
  const graceful = createGraceful({ ...quiet(logger), preStopDelayMs: 2000, gracePeriodMs: 10_000, longLived: { spreadMs: 5000 } })
  graceful.onPersist('state', () => {})
  await sleep(10)
  const warning = logger.entries.find((e) => e.level === 'warn' && /longLived\.spreadMs/.test(e.msg ?? ''))
  t.ok(warning, 'warned once setup was done')
  // hooks 5000 ms, pre-stop 2000 ms: the drain keeps 3000 ms, the spread may take 1500 of it.
  t.match(warning?.msg, /longLived\.spreadMs \(5000\) does not fit the drain: .* as short as 3000 ms, so the spread may be shortened to 1500 ms; set longLived\.spreadMs to at most 1500, or gracePeriodMs to at least 17000/)
  const fits = resolveOptions({ preStopDelayMs: 2000, gracePeriodMs: 17_000, longLived: { spreadMs: 5000 } }, {})
  t.same(budgetWarnings(planBudget(fits, hooks(5000)), fits), [], 'the proposed gracePeriodMs warns of nothing')
  const short = resolveOptions({ preStopDelayMs: 2000, gracePeriodMs: 16_999, longLived: { spreadMs: 5000 } }, {})
  t.equal(budgetWarnings(planBudget(short, hooks(5000)), short).length, 1, 'and it is the smallest that fits')
  const byDefault = resolveOptions({ gracePeriodMs: 1000 }, {})
  t.same(budgetWarnings(planBudget(byDefault, hooks(0)), byDefault), [], 'the default window (1000 ms) is shortened silently')
  t.equal(planBudget(byDefault, hooks(0)).spreadMs, 500, 'to half of the drain')
  await graceful.shutdown()
})

t.test('with preStopDelayMs 9000, gracePeriodMs 10000 and a persist hook, every 1 s request arriving during pre-stop completes 200 and the process exits 0', async (t) => {
  const exits: number[] = []
  const graceful = createGraceful({ ...quiet(), signals: [SIGNAL], exit: (code) => { exits.push(code) }, preStopDelayMs: 9000, gracePeriodMs: 10_000 })
  graceful.onPersist('state', () => sleep(10))
  const server = http.createServer((_req, res) => { setTimeout(() => res.end('done'), 1000) })
  graceful.addServer(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const agent = new Agent({ connections: 16 })
  t.teardown(async () => {
    server.closeAllConnections()
    server.close()
    await agent.destroy()
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow`
  const reported = new Promise<unknown>((resolve) => graceful.once('report', resolve))
  process.kill(process.pid, SIGNAL)
  await within(new Promise((resolve) => graceful.once('state', resolve)), 5000, 'the shutdown to start')
  // One request every 250 ms for as long as pre-stop lasts: judged by the drain's own signal, not by a clock.
  const answers: Array<Promise<string>> = []
  for (let i = 0; i < 100 && !graceful.drainSignal.aborted; i++) {
    answers.push(request(url, { dispatcher: agent }).then(async (res) => `${res.statusCode} ${await res.body.text()}`, (error: Error) => error.message))
    await sleep(250)
  }
  const seen = await within(Promise.all(answers), 10_000, 'the answers')
  t.ok(seen.length >= 4, `requests arrived all through pre-stop (${seen.length})`)
  t.same(seen, seen.map(() => '200 done'), 'every one completed with 200')
  const report = await within(reported, 10_000, 'the report') as { exitCode: number, phases: { preStop: { endedBy: string, effectiveMs: number, configuredMs: number } }, sockets: { destroyed: number } }
  t.match(report.phases.preStop, { endedBy: 'budget', configuredMs: 9000, effectiveMs: 3333 }, 'pre-stop was shortened to what fits')
  t.equal(report.sockets.destroyed, 0, 'no connection was cut')
  t.equal(report.exitCode, 0)
  await exitCalled(exits)
  t.same(exits, [0], 'the process exits 0')
})
