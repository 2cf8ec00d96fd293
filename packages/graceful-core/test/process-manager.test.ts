/**
 * Under PM2 (pm_id in the environment, an IPC channel to the parent): 'ready' once running, the
 * 'shutdown' message and SIGINT start the shutdown, and a kill_timeout that cannot fit gracePeriodMs
 * is named at start-up. Real child processes (test/fixtures/managed.mjs).
 */
import t from 'tap'
import { request } from 'undici'
import type { ShutdownReport } from '../src/index.js'
import { exitWithin, type Line, reportLines } from './helpers/child.js'
import { forkFixture } from './helpers/ipc-child.js'

t.jobs = 3

const PM2 = { pm_id: '0', exec_mode: 'fork_mode', kill_timeout: '12000' }
const listening = (line: Line): boolean => line.fixture === 'listening'
const warnings = (lines: Line[]): Line[] => lines.filter((l) => l.level === 40)

t.test('sends ready over IPC only once the startup tasks resolved, and /ready answers 200 by then', async (t) => {
  const child = forkFixture(t, 'managed.mjs', { ...PM2, STARTUP_TASK: '1' })
  const { port } = await child.waitForLine(listening) as { port: number }
  const early = await request(`http://127.0.0.1:${port}/ready`)
  await early.body.dump()
  t.equal(early.statusCode, 503, 'listening, but the startup task is still running')
  t.same(child.messages, [], 'no ready message yet')
  child.send('warmed-up')
  await child.message('ready')
  const ready = await request(`http://127.0.0.1:${port}/ready`)
  await ready.body.dump()
  t.equal(ready.statusCode, 200, 'ready when PM2 is told so')
  child.kill('SIGINT')
  t.same(await exitWithin(child), { code: 0, signal: null })
  t.same(child.messages, ['ready'], 'ready is sent once')
})

t.test('starts the shutdown on the IPC message shutdown (PM2 shutdown_with_message) and exits 0', async (t) => {
  const child = forkFixture(t, 'managed.mjs', PM2)
  await child.message('ready')
  child.send('shutdown')
  t.same(await exitWithin(child), { code: 0, signal: null })
  const report = reportLines(child)[0]?.report as ShutdownReport
  t.equal(report.reason, 'shutdown')
  t.equal(report.exitCode, 0)
})

t.test('starts the shutdown on SIGINT (PM2 stop and reload) and exits 0', async (t) => {
  const child = forkFixture(t, 'managed.mjs', PM2)
  await child.message('ready')
  child.kill('SIGINT')
  t.same(await exitWithin(child), { code: 0, signal: null })
  t.equal((reportLines(child)[0]?.report as ShutdownReport).reason, 'SIGINT')
})

t.test('warns at creation when PM2 kill_timeout cannot fit gracePeriodMs, naming kill_timeout and the value to set', async (t) => {
  const child = forkFixture(t, 'managed.mjs', { pm_id: '0', kill_timeout: '' })
  await child.message('ready')
  const [warning, ...more] = warnings(child.lines())
  t.same(more, [], 'one warning')
  t.match(warning?.msg, /kill_timeout \(1600 ms, PM2's default\)/, 'names PM2\'s default when kill_timeout is not configured')
  t.match(warning?.msg, /set kill_timeout: 7000/, 'gracePeriodMs 5000 + 2000 ms for the report and the exit')
  t.equal(warning?.kill_timeout, 1600)
  child.kill('SIGINT')
  await exitWithin(child)
})

t.test('stays quiet when kill_timeout leaves room for gracePeriodMs', async (t) => {
  const child = forkFixture(t, 'managed.mjs', { ...PM2, kill_timeout: '7000' })
  await child.message('ready')
  t.same(warnings(child.lines()), [])
  child.kill('SIGINT')
  await exitWithin(child)
})

t.test('outside PM2 and node:cluster, an IPC parent gets no ready message and no shutdown listener', async (t) => {
  const child = forkFixture(t, 'managed.mjs', { pm_id: '' })
  await child.waitForLine((l) => l.fixture === 'state' && l.state === 'running')
  child.send('shutdown')
  child.kill('SIGTERM')
  t.same(await exitWithin(child), { code: 0, signal: null })
  t.same(child.messages, [])
  t.equal((reportLines(child)[0]?.report as ShutdownReport).reason, 'SIGTERM', 'the message did nothing, the signal did')
})
