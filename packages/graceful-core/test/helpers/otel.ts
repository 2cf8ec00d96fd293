/**
 * The real OpenTelemetry SDK for tests: a tracer provider with an in-memory span exporter and a
 * meter provider with an in-memory metric exporter, registered as the process's global providers.
 * Also a report to feed the bridge, and the test body shared by the ESM and the CJS build.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { type Attributes, diag, DiagLogLevel, metrics, trace } from '@opentelemetry/api'
import { AggregationTemporality, type DataPoint, type Histogram, InMemoryMetricExporter, MeterProvider, type MetricData, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { CheckOutcome, ShutdownReport } from '../../src/types.js'

export interface Sdk {
  spans: () => ReadableSpan[]
  /** The metrics collected now, by name. */
  collect: () => Promise<Map<string, MetricData>>
  reset: () => void
  shutdown: () => Promise<void>
}

/** `batched`: spans wait in a BatchSpanProcessor (for a day) until a flush, as in production setups. */
export function installTracing ({ batched = false } = {}): { exporter: InMemorySpanExporter, provider: BasicTracerProvider } {
  const exporter = new InMemorySpanExporter()
  const processor = batched ? new BatchSpanProcessor(exporter, { scheduledDelayMillis: 86_400_000 }) : new SimpleSpanProcessor(exporter)
  const provider = new BasicTracerProvider({ spanProcessors: [processor] })
  if (!trace.setGlobalTracerProvider(provider)) throw new Error('a global tracer provider was already registered')
  return { exporter, provider }
}

export function installMetrics (): { collect: Sdk['collect'], provider: MeterProvider } {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  // Exported only when asked (forceFlush): the interval is a day.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 86_400_000 })
  const provider = new MeterProvider({ readers: [reader] })
  if (!metrics.setGlobalMeterProvider(provider)) throw new Error('a global meter provider was already registered')
  return {
    provider,
    async collect () {
      exporter.reset()
      await reader.forceFlush()
      const found = new Map<string, MetricData>()
      for (const resource of exporter.getMetrics()) {
        for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) found.set(metric.descriptor.name, metric)
      }
      return found
    }
  }
}

export function installSdk (): Sdk {
  const tracing = installTracing()
  const meters = installMetrics()
  return {
    spans: () => tracing.exporter.getFinishedSpans(),
    collect: meters.collect,
    reset: () => tracing.exporter.reset(),
    async shutdown () {
      await Promise.all([tracing.provider.shutdown(), meters.provider.shutdown()])
      trace.disable()
      metrics.disable()
    }
  }
}

/** Where the diagnostic logger's errors go, for the tests that check a failure is contained. */
export function captureDiagErrors (): string[] {
  const errors: string[] = []
  const none = (): void => {}
  diag.setLogger({ error: (message: string) => { errors.push(message) }, warn: none, info: none, debug: none, verbose: none }, DiagLogLevel.ERROR)
  return errors
}

export const msOf = (time: [number, number]): number => Math.round(time[0] * 1000 + time[1] / 1e6)

export function pointOf<T = number> (metric: MetricData | undefined, attributes: Attributes = {}): DataPoint<T> | undefined {
  const points = (metric?.dataPoints ?? []) as Array<DataPoint<T>>
  return points.find((p) => JSON.stringify(sorted(p.attributes)) === JSON.stringify(sorted(attributes)))
}

export type HistogramPoint = DataPoint<Histogram>

function sorted (attributes: Attributes): Attributes {
  return Object.fromEntries(Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)))
}

export const STARTED_AT = '2026-12-01T10:00:00.000Z'

/**
 * A clean run of 1 s: pre-stop 400, drain 300, cleanup 100 (hooks queue 60, cache 40), persist 150
 * (hook state 100, then the after-persist cleanup db 50). Hooks in the order the report lists them.
 */
export function sampleReport (overrides: Partial<ShutdownReport> = {}): ShutdownReport {
  return {
    reason: 'SIGTERM',
    startedAt: STARTED_AT,
    endedAt: '2026-12-01T10:00:01.000Z',
    durationMs: 1000,
    exitCode: 0,
    forced: false,
    phases: {
      preStop: { durationMs: 400, endedBy: 'fixed', requests: 12 },
      drain: { durationMs: 300, listenerClosedAtMs: 402, listenerClosedBy: 'graceful', acceptedAfterDrainBegan: 0 },
      cleanup: { durationMs: 100 },
      persist: { durationMs: 150 }
    },
    requests: { inFlightAtSignal: 3, completedDuringDrain: 15 },
    sockets: { closedIdle: 7, closedAfterResponse: 4, forced: 1 },
    tasks: { finished: 1, failed: 0, aborted: 0 },
    longLived: { streamsEnded: 2, webSocketsClosed: 5, webSocketsTerminated: 1, closeCodes: { 1012: 4, 1000: 1 }, spreadMs: 1000, held: 0, holdsExpired: 0 },
    hooks: [
      { name: 'queue', phase: 'cleanup', outcome: 'ok', durationMs: 60 },
      { name: 'cache', phase: 'cleanup', outcome: 'ok', durationMs: 40 },
      { name: 'state', phase: 'persist', outcome: 'ok', durationMs: 100 },
      { name: 'db', phase: 'cleanup', outcome: 'ok', durationMs: 50 }
    ],
    startup: { ready: true, durationMs: 20, tasks: [] },
    faults: [],
    ...overrides
  }
}

/** One build's observe modules (ESM or CJS). */
export interface ObserveBuild {
  telemetry: { enableTelemetry: () => void, telemetryReady: () => Promise<boolean>, disableTelemetry: () => void, flushTelemetry: (timeoutMs: number) => Promise<void> }
  channels: {
    publishReport: (report: ShutdownReport) => void
    publishCheck: (name: string, outcome: CheckOutcome, durationMs: number) => void
  }
  inFlight: { kInFlight: symbol, registerInFlightSource: (source: never) => void }
}

/** Subscribes to a diagnostics channel for the test's duration; returns what arrives. */
export function listen (t: { teardown: (fn: () => void) => void }, name: string): unknown[] {
  const seen: unknown[] = []
  const onMessage = (message: unknown): void => { seen.push(message) }
  diagnosticsChannel.subscribe(name, onMessage)
  t.teardown(() => { diagnosticsChannel.unsubscribe(name, onMessage) })
  return seen
}
