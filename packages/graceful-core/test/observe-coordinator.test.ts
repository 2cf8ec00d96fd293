/**
 * What a subscriber and an OpenTelemetry user see of a real coordinator: its state changes,
 * its report and its readiness check runs on the diagnostics channels, a shutdown's span tree, and
 * the in-flight gauge while a request is served. The SDK is registered before any coordinator is
 * created, the way an instrumentation file loaded with --import does it.
 */
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { SpanStatusCode } from '@opentelemetry/api'
import t from 'tap'
import { createGraceful, type Graceful, type ShutdownReport } from '../src/index.js'
import { deferred, delay, quiet, within, nextState } from './helpers/inprocess.js'
import { installSdk, listen, pointOf } from './helpers/otel.js'

const sdk = installSdk()
t.teardown(async () => { await sdk.shutdown() })

async function running (graceful: Graceful): Promise<Graceful> {
  while (graceful.state === 'starting') await within(nextState(graceful), 2000, 'running')
  return graceful
}

t.test('graceful:state publishes every state change with its reason, in order', async (t) => {
  const seen = listen(t, 'graceful:state') as Array<{ from: string, to: string, reason: string, at: number }>
  const graceful = await running(createGraceful(quiet()))
  await within(graceful.shutdown('test'), 5000, 'shutdown')
  t.same(seen.map((m) => [m.from, m.to, m.reason]), [
    ['starting', 'running', 'started'],
    ['running', 'draining', 'test'],
    ['draining', 'cleaning', 'test'],
    ['cleaning', 'persisting', 'test'],
    ['persisting', 'stopped', 'test']
  ])
  t.same(seen.map((m) => m.at), seen.map((m) => m.at).sort((a, b) => a - b), 'times never go back')
})

t.test('graceful:report publishes the report the shutdown resolves with', async (t) => {
  const seen = listen(t, 'graceful:report')
  const graceful = createGraceful(quiet())
  const report = await within(graceful.shutdown('test'), 5000, 'shutdown')
  t.equal(seen.length, 1)
  t.equal(seen[0], report)
})

t.test('graceful:check publishes each readiness check run with its outcome', async (t) => {
  const seen = listen(t, 'graceful:check') as Array<{ name: string, outcome: string, durationMs: number }>
  const graceful = await running(createGraceful(quiet()))
  t.teardown(async () => { await graceful.shutdown() })
  graceful.check('db', () => true, { cacheMs: 0 })
  graceful.check('cache', () => false, { cacheMs: 0, critical: false })
  await graceful.probe('ready')
  t.same(seen.map((m) => [m.name, m.outcome]).sort(), [['cache', 'fail'], ['db', 'ok']])
  t.ok(seen.every((m) => typeof m.durationMs === 'number' && m.durationMs >= 0), 'each with its duration')
})

t.test('one shutdown is one trace: graceful.shutdown, its phases, and each hook under the phase it ran in', async (t) => {
  sdk.reset()
  const graceful = createGraceful(quiet())
  graceful.onCleanup('db', () => {}, { afterPersist: true })
  graceful.onCleanup('queue', () => delay(5))
  graceful.onPersist('state', () => delay(5))
  const report: ShutdownReport = await within(graceful.shutdown('test'), 5000, 'shutdown')
  t.equal(report.exitCode, 0)
  await new Promise((resolve) => setImmediate(resolve))
  const spans = sdk.spans()
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]))
  const parent = (name: string): string | undefined => byId.get(spans.find((s) => s.name === name || s.attributes['graceful.hook.name'] === name)?.parentSpanContext?.spanId ?? '')?.name
  t.same(spans.filter((s) => s.name === 'graceful.shutdown').length, 1)
  t.same(['graceful.pre_stop', 'graceful.drain', 'graceful.cleanup', 'graceful.persist', 'graceful.after_persist'].map(parent), Array(5).fill('graceful.shutdown'))
  t.same(['queue', 'state', 'db'].map(parent), ['graceful.cleanup', 'graceful.persist', 'graceful.after_persist'])
  t.equal(spans.find((s) => s.name === 'graceful.shutdown')?.status.code, SpanStatusCode.UNSET)
})

t.test('a shutdown forced by a second signal is an error span', async (t) => {
  sdk.reset()
  const graceful = createGraceful({ ...quiet(), signals: ['SIGUSR2'] })
  const stuck = deferred()
  graceful.onCleanup('stuck', () => stuck.promise)
  t.teardown(() => { stuck.resolve() })
  const report = new Promise<ShutdownReport>((resolve) => graceful.once('report', resolve))
  process.kill(process.pid, 'SIGUSR2')
  while (graceful.state !== 'cleaning') await within(nextState(graceful), 5000, 'cleaning')
  await delay(150) // beyond the window in which a copy of the first signal is not a second one
  process.kill(process.pid, 'SIGUSR2')
  t.equal((await within(report, 5000, 'report')).forced, true)
  await new Promise((resolve) => setImmediate(resolve))
  const root = sdk.spans().find((s) => s.name === 'graceful.shutdown')
  t.same([root?.status.code, root?.status.message], [SpanStatusCode.ERROR, 'forced by a second signal during cleanup'])
})

t.test('graceful.requests.in_flight counts the request being served', async (t) => {
  const graceful = createGraceful(quiet())
  const answer = deferred()
  const server = http.createServer((req, res) => { void answer.promise.then(() => res.end('done')) })
  graceful.addServer(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => { answer.resolve(); await graceful.shutdown() })
  const { port } = server.address() as AddressInfo
  const response = new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => { res.resume(); res.once('end', resolve) }).once('error', reject)
  })
  const gauge = async (): Promise<number | undefined> => pointOf((await sdk.collect()).get('graceful.requests.in_flight'))?.value
  for (let i = 0; i < 200 && await gauge() !== 1; i++) await delay(10) // until the request arrived
  t.equal(await gauge(), 1, 'one request in flight')
  answer.resolve()
  await within(response, 5000, 'response')
  for (let i = 0; i < 200 && await gauge() !== 0; i++) await delay(10) // the server's side of the end
  t.equal(await gauge(), 0, 'none once answered')
})
