/**
 * clusterPrimary() with real processes (test/fixtures/cluster.mjs): a reload under keep-alive load
 * loses no request, SIGTERM drains every worker, a crashed worker is replaced, a straggler is
 * SIGKILLed. Races are judged by what the client sees.
 */
import t, { type Test } from 'tap'
import { request } from 'undici'
import { clusterPrimary } from '../src/index.js'
import { exitWithin, type Fixture, type Line, reportLines, spawnFixture } from './helpers/child.js'
import { startLoad } from './helpers/load.js'

t.jobs = 2

const pidsOf = (fixture: Fixture, type: string): number[] => fixture.lines().filter((l) => l.fixture === type).map((l) => l.pid as number)

/** Starts the fixture's primary and waits for `workers` ready workers; returns it with the shared port. */
async function startCluster (t: Test, env: Record<string, string> = {}): Promise<{ primary: Fixture, origin: string }> {
  const primary = spawnFixture(t, 'cluster.mjs', [], env)
  const workers = Number(env.WORKERS ?? 2)
  const { port } = await primary.waitForLine((l: Line) => l.fixture === 'listening') as { port: number }
  for (let i = 0; i < 200 && pidsOf(primary, 'worker-ready').length < workers; i++) {
    await primary.waitForLine(() => pidsOf(primary, 'worker-ready').length >= workers)
  }
  return { primary, origin: `http://127.0.0.1:${port}` }
}

t.test('rejects bad options at call time, naming the option and the form', async (t) => {
  t.throws(() => clusterPrimary({ workers: 0 }), { name: 'GracefulRangeError', code: 'GRACEFUL_ERR_INVALID_OPTION', message: 'workers must be a positive integer up to 1024, got 0' })
  t.throws(() => clusterPrimary({ workers: '2' as unknown as number }), { name: 'GracefulTypeError', message: 'workers must be a positive integer (the number of worker processes), got "2"' })
  t.throws(() => clusterPrimary({ gracePeriodMs: -1 }), { message: /^gracePeriodMs must be a positive number of milliseconds/ })
  t.throws(() => clusterPrimary({ reloadSignal: 'SIGTERM' }), { message: /^reloadSignal must be a catchable signal name other than SIGTERM and SIGINT/ })
  t.throws(() => clusterPrimary({ reloadSignal: 'SIGNOPE' as NodeJS.Signals }), { message: /^reloadSignal must be/ })
  t.throws(() => clusterPrimary({ worker: 2 } as object), { message: /^clusterPrimary\(\) options\.worker must be one of workers, gracePeriodMs/ })
  t.throws(() => clusterPrimary({ logger: 42 as unknown as false }), { message: /^logger must be/ })
})

t.test('replaces every worker on SIGHUP under keep-alive load without a failed request', async (t) => {
  const { primary, origin } = await startCluster(t)
  const before = pidsOf(primary, 'worker-ready')
  const load = startLoad(origin, { loops: 8, paths: ['/pid', '/pid', '/pid', '/slow?ms=300'] })
  t.teardown(() => load.stop())
  await load.until((body) => before.includes(Number(body)), 'an answer from a first-generation worker')
  primary.kill('SIGHUP')
  const reload = await primary.waitForLine((l) => l.fixture === 'reload', 40_000)
  t.same({ outcome: reload.outcome, replaced: reload.replaced }, { outcome: 'ok', replaced: 2 })
  const after = pidsOf(primary, 'worker-ready').filter((pid) => !before.includes(pid))
  t.equal(after.length, 2, 'two new workers')
  await load.until((body) => after.includes(Number(body)), 'an answer from a new worker')
  await load.stop()
  t.same(load.failures(), [], `no failed request among ${load.outcomes.length}`)
  const exits = primary.lines().filter((l) => l.fixture === 'worker-exit')
  t.same(exits.map((l) => [before.includes(l.pid as number), l.exitCode, l.asked]), [[true, 0, true], [true, 0, true]], 'the old workers drained and exited 0')
  primary.kill('SIGTERM')
  t.same(await exitWithin(primary), { code: 0, signal: null })
})

t.test('tells the old worker to drain only once its replacement is ready (one worker, 1 s startup task)', async (t) => {
  const { primary, origin } = await startCluster(t, { WORKERS: '1', STARTUP_MS: '1000' })
  const [first] = pidsOf(primary, 'worker-ready')
  const load = startLoad(origin, { loops: 4 })
  t.teardown(() => load.stop())
  primary.kill('SIGHUP')
  await primary.waitForLine((l) => l.fixture === 'reload', 40_000)
  await load.until((body) => Number(body) !== first, 'an answer from the new worker')
  await load.stop()
  t.same(load.failures(), [], `no 503 (a worker used while starting) and no error among ${load.outcomes.length}`)
  primary.kill('SIGTERM')
  t.same(await exitWithin(primary), { code: 0, signal: null })
})

t.test('forwards SIGTERM: every worker finishes its in-flight request, drains, and the primary exits 0', async (t) => {
  const { primary, origin } = await startCluster(t)
  const slow = [request(`${origin}/slow?ms=1000`), request(`${origin}/slow?ms=1000`)]
  // Whether they arrive before the signal or during the pre-stop window, both are served.
  await new Promise((resolve) => setTimeout(resolve, 200))
  primary.kill('SIGTERM')
  for (const res of await Promise.all(slow)) {
    t.equal(res.statusCode, 200, 'the in-flight request completes')
    await res.body.dump()
  }
  t.same(await exitWithin(primary), { code: 0, signal: null })
  const reports = reportLines(primary).map((l) => l.report as { reason: string, exitCode: number, phases: { preStop: { durationMs: number } } })
  t.same(reports.map((r) => [r.reason, r.exitCode]), [['SIGTERM', 0], ['SIGTERM', 0]], 'each worker drained and reported')
  t.ok(reports.every((r) => r.phases.preStop.durationMs >= 500), 'a cluster worker keeps the short default pre-stop (500 ms)')
})

t.test('replaces a worker that crashed', async (t) => {
  const { primary, origin } = await startCluster(t)
  const [victim] = pidsOf(primary, 'worker-ready')
  process.kill(victim!, 'SIGKILL')
  const exit = await primary.waitForLine((l) => l.fixture === 'worker-exit')
  t.same([exit.pid, exit.exitCode, exit.asked], [victim, 137, false])
  await primary.waitForLine(() => pidsOf(primary, 'worker-ready').length === 3)
  const replacement = pidsOf(primary, 'worker-ready')[2]
  const load = startLoad(origin, { loops: 2 })
  t.teardown(() => load.stop())
  await load.until((body) => Number(body) === replacement, 'an answer from the replacement')
  await load.stop()
  t.notOk(load.outcomes.some((o) => Number(o.body) === victim), 'the dead worker answers nothing')
  t.same(load.failures(), [])
  primary.kill('SIGTERM')
  t.same(await exitWithin(primary), { code: 0, signal: null })
})

t.test('SIGKILLs a worker still draining at the deadline and exits with its code (137)', async (t) => {
  const { primary, origin } = await startCluster(t, { WORKERS: '1', PRIMARY_GRACE_MS: '500', WORKER_GRACE_MS: '30000' })
  const hang = request(`${origin}/hang`).catch((error: Error) => error)
  await new Promise((resolve) => setTimeout(resolve, 200))
  primary.kill('SIGTERM')
  t.same(await exitWithin(primary, 15_000), { code: 137, signal: null })
  t.type(await hang, Error, 'the hanging request ends with the worker')
})
