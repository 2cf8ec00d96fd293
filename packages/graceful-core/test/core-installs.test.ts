/**
 * Every install (signal handlers, the process fault listeners, the listeners on a server, the wraps
 * of its close and emit, the listening handle's accept callback) is undone when the run ends,
 * whatever happened: a throw injected into each phase, a throwing hook, a throwing exit, a second
 * signal, a run started by code.
 */
import http from 'node:http'
import t, { type Test } from 'tap'
import * as realDrain from '../src/drain/drain.js'
import * as realHooks from '../src/hooks.js'
import * as realPreStop from '../src/pre-stop.js'
import type { GracefulOptions, ShutdownReport } from '../src/index.js'
import { quiet, within } from './helpers/inprocess.js'

const SIGNAL = 'SIGUSR2'
const PROCESS_EVENTS = [SIGNAL, 'uncaughtException', 'unhandledRejection'] as const
const SERVER_EVENTS = ['request', 'connection', 'newListener', 'upgrade', 'close', 'listening'] as const

const injected = (phase: string): Error => new Error(`injected into the ${phase} phase`)

class ThrowingPreStop extends realPreStop.PreStopWindow {
  override async run (): Promise<never> { throw injected('pre-stop') }
}

class ThrowingCleanup extends realHooks.HookRegistry {
  override async runCleanup (): Promise<never> { throw injected('cleanup') }
}

class ThrowingPersist extends realHooks.HookRegistry {
  override async runPersist (): Promise<never> { throw injected('persist') }
}

/** A part of the coordinator loaded with one of its imports replaced (a module mock of its direct imports). */
interface Fault { module: '../src/parts.js' | '../src/pipeline.js', mocks: Record<string, unknown> }

/** How each phase is made to throw: the coordinator loaded with a part that throws. */
const faultyPhases: Record<string, Fault> = {
  'pre-stop': { module: '../src/parts.js', mocks: { '../src/pre-stop.js': { ...realPreStop, PreStopWindow: ThrowingPreStop } } },
  drain: { module: '../src/pipeline.js', mocks: { '../src/drain/drain.js': { ...realDrain, drain: async () => { throw injected('drain') } } } },
  cleanup: { module: '../src/parts.js', mocks: { '../src/hooks.js': { ...realHooks, HookRegistry: ThrowingCleanup } } },
  persist: { module: '../src/parts.js', mocks: { '../src/hooks.js': { ...realHooks, HookRegistry: ThrowingPersist } } }
}

interface Snapshot { process: number[], server: number[], own: string[], onconnection: unknown }

function snapshot (server: http.Server): Snapshot {
  return {
    process: PROCESS_EVENTS.map((event) => process.listenerCount(event)),
    server: SERVER_EVENTS.map((event) => server.listenerCount(event)),
    own: ['close', 'emit'].filter((key) => Object.prototype.hasOwnProperty.call(server, key)),
    onconnection: (server as unknown as { _handle?: { onconnection?: unknown } })._handle?.onconnection
  }
}

async function listeningServer (t: Test): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end('ok'))
  // An application upgrade listener, so the drain watches and refuses upgrades too.
  server.on('upgrade', (_req, socket) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return server
}

async function runOnce (t: Test, fault: Fault | undefined, options: GracefulOptions, start: (graceful: { shutdown: () => Promise<ShutdownReport> }) => Promise<ShutdownReport>) {
  const mocks = fault === undefined ? {} : { [fault.module]: await t.mockImport<object>(fault.module, fault.mocks) }
  const { createGraceful } = await t.mockImport<typeof import('../src/coordinator.js')>('../src/coordinator.js', mocks)
  const server = await listeningServer(t)
  const before = snapshot(server)
  const graceful = createGraceful({ ...quiet(), signals: [SIGNAL], exit: false, preStopDelayMs: 50, ...options })
  graceful.addServer(server)
  graceful.onCleanup('release', () => {})
  graceful.onPersist('save', () => {})
  const report = await within(start(graceful), 10_000, 'the run')
  // Node's own close callbacks (a once('close') per close() call) go once the server closed.
  const onconnection = snapshot(server).onconnection
  await within(new Promise((resolve) => { server.close(resolve) }), 5000, 'the server to close')
  // The listening handle is gone once the drain closed it; compare it only where it survived.
  const after = { ...snapshot(server), onconnection }
  if (after.onconnection === undefined) before.onconnection = undefined
  return { before, after, report }
}

for (const [phase, fault] of Object.entries(faultyPhases)) {
  t.test(`a throw inside the ${phase} phase is a fault of the report, later phases still run, and every install is undone`, async (t) => {
    const { before, after, report } = await runOnce(t, fault, {}, (g) => g.shutdown())
    t.same(after, before, 'process listeners, server listeners and server methods are as they were')
    t.match(report.faults, [{ message: `injected into the ${phase} phase` }], 'the report has the fault')
    t.equal(report.exitCode, 1, 'and the run counts as failed')
    if (phase !== 'persist') t.ok(report.hooks.some((h) => h.phase === 'persist'), 'persistence still ran')
  })
}

t.test('a throwing hook and a throwing exit function leave nothing installed', async (t) => {
  const { before, after, report } = await runOnce(t, undefined, { exit: () => { throw new Error('exit failed') } }, async (g) => {
    (g as unknown as { onCleanup: (name: string, fn: () => void) => void }).onCleanup('broken', () => { throw new Error('hook failed') })
    const reported = new Promise<ShutdownReport>((resolve) => (g as unknown as { once: (e: string, f: (r: ShutdownReport) => void) => void }).once('report', resolve))
    process.kill(process.pid, SIGNAL)
    return await reported
  })
  t.match(report.hooks, [{ name: 'broken', outcome: 'error' }, { name: 'release', outcome: 'ok' }], 'the failing hook did not stop the next')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(after, before)
})

t.test('a second signal forces the run, and every install is undone', async (t) => {
  const { before, after, report } = await runOnce(t, undefined, { preStopDelayMs: 60_000 }, async (g) => {
    const run = g.shutdown()
    // The first signal joins the run started by code; the second, well apart from it, forces.
    process.kill(process.pid, SIGNAL)
    await new Promise((resolve) => setTimeout(resolve, 300))
    process.kill(process.pid, SIGNAL)
    return await run
  })
  t.equal(report.forced, true)
  t.same(after, before)
})

t.test('a run started by code undoes every install too', async (t) => {
  const { before, after, report } = await runOnce(t, undefined, {}, (g) => g.shutdown())
  t.equal(report.exitCode, 0)
  t.same(after, before)
})
