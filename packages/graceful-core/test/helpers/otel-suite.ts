/**
 * What a user of OpenTelemetry sees of a shutdown, run against one build (ESM or CJS) of the bridge
 * with the real SDK: the report and check messages are published on the diagnostics channels the
 * way the coordinator publishes them.
 */
import type { Test } from 'tap'
import { metrics, SpanStatusCode, trace } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { captureDiagErrors, type HistogramPoint, installMetrics, installTracing, msOf, type ObserveBuild, pointOf, type Sdk } from './otel.js'
import { hookReport, sampleReport, STARTED_AT } from './report-fixture.js'

export async function otelSuite (t: Test, build: ObserveBuild, sdk: Sdk): Promise<void> {
  const { enableTelemetry, telemetryReady, disableTelemetry, flushTelemetry } = build.telemetry
  const { publishReport, publishCheck } = build.channels
  enableTelemetry()
  t.equal(await telemetryReady(), true, 'the bridge loads @opentelemetry/api')
  t.teardown(disableTelemetry)
  const t0 = Date.parse(STARTED_AT)

  await t.test('a report becomes graceful.shutdown with its five phases and one graceful.hook per hook', async (t) => {
    sdk.reset()
    publishReport(sampleReport())
    const spans = sdk.spans()
    const named = (name: string): ReadableSpan[] => spans.filter((s) => s.name === name)
    const [root] = named('graceful.shutdown')
    t.equal(named('graceful.shutdown').length, 1, 'one shutdown span')
    if (!root) return
    t.equal(root.parentSpanContext, undefined, 'the shutdown span is a root')
    t.same([msOf(root.startTime) - t0, msOf(root.endTime) - t0], [0, 1000], 'from the signal to the end of the run')
    t.match(root.attributes, { 'graceful.shutdown.reason': 'SIGTERM', 'graceful.exit_code': 0, 'graceful.forced': false })
    t.equal(root.status.code, SpanStatusCode.UNSET, 'a clean run is not an error')
    const rootId = root.spanContext().spanId
    const phases = ['graceful.pre_stop', 'graceful.drain', 'graceful.cleanup', 'graceful.persist', 'graceful.after_persist'].map((name) => named(name)[0])
    t.same(phases.map((p) => p?.parentSpanContext?.spanId), phases.map(() => rootId), 'the phases are children of the shutdown span')
    t.same(phases.map((p) => p && [msOf(p.startTime) - t0, msOf(p.endTime) - t0]), [[0, 400], [400, 700], [700, 800], [800, 900], [900, 950]], 'one after the other, as the report has them')
    t.equal(phases[0]?.attributes['graceful.pre_stop.ended_by'], 'fixed')
    const hooks = named('graceful.hook')
    const parentName = (span: ReadableSpan): string | undefined => spans.find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId)?.name
    t.same(hooks.map((h) => [h.attributes['graceful.hook.name'], h.attributes['graceful.hook.outcome'], parentName(h), msOf(h.startTime) - t0, msOf(h.endTime) - t0]), [
      ['queue', 'ok', 'graceful.cleanup', 700, 760],
      ['cache', 'ok', 'graceful.cleanup', 760, 800],
      ['state', 'ok', 'graceful.persist', 800, 900],
      ['db', 'ok', 'graceful.after_persist', 900, 950]
    ], 'each hook under the phase it ran in, at the moment the report gives, in order')
    t.equal(new Set(spans.map((s) => s.spanContext().traceId)).size, 1, 'one trace')
  })

  await t.test('the shutdown span is an error when the run was forced or exited non-zero; a failed hook is an error too', async (t) => {
    sdk.reset()
    publishReport(sampleReport({ forced: true, forcedDuring: 'drain', exitCode: 1 }))
    publishReport(sampleReport({
      exitCode: 1,
      hooks: [hookReport('queue', 'cleanup', 700, 100, { outcome: 'timeout' }), hookReport('state', 'persist', 800, 5, { outcome: 'error', error: { name: 'Error', message: 'disk full' } })]
    }))
    const roots = sdk.spans().filter((s) => s.name === 'graceful.shutdown')
    t.same(roots.map((s) => [s.status.code, s.status.message]), [
      [SpanStatusCode.ERROR, 'forced by a second signal during drain'],
      [SpanStatusCode.ERROR, 'exit code 1']
    ])
    t.equal(roots[0]?.attributes['graceful.forced_during'], 'drain')
    const hooks = sdk.spans().filter((s) => s.name === 'graceful.hook').slice(-2)
    t.same(hooks.map((h) => [h.attributes['graceful.hook.outcome'], h.status.code, h.status.message]), [
      ['timeout', SpanStatusCode.ERROR, 'timeout'],
      ['error', SpanStatusCode.ERROR, 'disk full']
    ])
    t.match(hooks[1]?.events.map((e) => [e.name, e.attributes?.['exception.message']]), [['exception', 'disk full']], 'the error is recorded as an exception')
  })

  await t.test('metrics: shutdown duration (s), connections and long-lived connections closed by kind, check duration (s) by name and outcome, requests in flight', async (t) => {
    publishCheck('db', 'ok', 12)
    publishCheck('db', 'timeout', 1000)
    const sources = [{ [build.inFlight.kInFlight]: 2 }, { [build.inFlight.kInFlight]: 3 }]
    for (const source of sources) build.inFlight.registerInFlightSource(source as never)
    const before = await sdk.collect()
    const closedBefore = (kind: string): number => pointOf(before.get('graceful.connections.closed'), { 'graceful.close.kind': kind })?.value ?? 0
    const longLivedBefore = (kind: string): number => pointOf(before.get('graceful.long_lived.closed'), { 'graceful.long_lived.kind': kind })?.value ?? 0
    const runsBefore = pointOf<HistogramPoint['value']>(before.get('graceful.shutdown.duration'), { 'graceful.shutdown.outcome': 'complete' })?.value.count ?? 0
    publishReport(sampleReport({ durationMs: 2500 }))
    const found = await sdk.collect()

    const duration = found.get('graceful.shutdown.duration')
    t.equal(duration?.descriptor.unit, 's')
    const complete = pointOf<HistogramPoint['value']>(duration, { 'graceful.shutdown.outcome': 'complete' })?.value
    t.equal(complete?.count, runsBefore + 1, 'one more clean shutdown recorded')
    t.equal(complete?.max, 2.5, 'in seconds')

    const closed = found.get('graceful.connections.closed')
    t.same(['idle', 'after_response', 'destroyed'].map((kind) => (pointOf(closed, { 'graceful.close.kind': kind })?.value ?? 0) - closedBefore(kind)), [7, 4, 1], 'the report\'s socket counts, by kind')

    const longLived = found.get('graceful.long_lived.closed')
    t.same(['websocket', 'websocket_terminated', 'event_stream'].map((kind) => (pointOf(longLived, { 'graceful.long_lived.kind': kind })?.value ?? 0) - longLivedBefore(kind)), [5, 1, 2], 'the report\'s long-lived closes, by kind')

    const checks = found.get('graceful.check.duration')
    t.equal(checks?.descriptor.unit, 's')
    t.same(pointOf<HistogramPoint['value']>(checks, { 'graceful.check.name': 'db', 'graceful.check.outcome': 'ok' })?.value.sum, 0.012)
    t.same(pointOf<HistogramPoint['value']>(checks, { 'graceful.check.name': 'db', 'graceful.check.outcome': 'timeout' })?.value.sum, 1)

    t.equal(pointOf(found.get('graceful.requests.in_flight'))?.value, 5, 'the gauge sums the registered coordinators')
    sources.length = 0 // nothing keeps them: a collected coordinator stops counting
  })

  await t.test('a problem while recording never reaches the code that published', async (t) => {
    const errors = captureDiagErrors()
    t.doesNotThrow(() => { publishReport({ reason: 'broken' } as never) }, 'publishing a malformed report does not throw')
    await new Promise((resolve) => setImmediate(resolve))
    t.match(errors, [/graceful-core: recording telemetry failed/], 'it goes to OpenTelemetry\'s diagnostic logger')
  })

  await t.test('a MeterProvider registered after the bridge started gets the next shutdown', async (t) => {
    await sdk.shutdown() // the SDK goes; a new meter provider comes (as when an SDK starts late)
    const late = installMetrics()
    t.teardown(async () => { await late.provider.shutdown(); metrics.disable() })
    publishReport(sampleReport())
    const found = await late.collect()
    t.equal(pointOf<HistogramPoint['value']>(found.get('graceful.shutdown.duration'), { 'graceful.shutdown.outcome': 'complete' })?.value.count, 1)
  })

  await t.test('flushTelemetry() exports the spans an SDK still buffers (what the coordinator awaits before it exits)', async (t) => {
    const batched = installTracing({ batched: true })
    t.teardown(async () => { await batched.provider.shutdown(); trace.disable() })
    publishReport(sampleReport())
    t.equal(batched.exporter.getFinishedSpans().length, 0, 'buffered by the batch processor')
    await flushTelemetry(5000)
    t.equal(batched.exporter.getFinishedSpans().filter((s) => s.name === 'graceful.shutdown').length, 1, 'exported by the flush')
  })
}
