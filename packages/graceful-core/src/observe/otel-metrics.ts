/**
 * graceful's metrics: `graceful.requests.in_flight` (observable gauge), `graceful.shutdown.duration`
 * (histogram, s), `graceful.connections.closed` (counter by `graceful.close.kind`),
 * `graceful.long_lived.closed` (counter by `graceful.long_lived.kind`: `websocket`, `websocket_terminated`,
 * `event_stream`) and
 * `graceful.check.duration` (histogram, s, by `graceful.check.name` and `graceful.check.outcome`).
 *
 * The API has no proxy for meters (unlike tracers): instruments made before an SDK registers its
 * MeterProvider stay no-ops for good. So they are made per provider, and remade whenever the
 * global provider is a different object than the one they were made on (an SDK registered after
 * the coordinator was created, or a test that swapped providers).
 * @module
 */
import type * as OTel from '@opentelemetry/api'
import { outcomeOf } from '../report.js'
import type { ShutdownReport } from '../types.js'
import { inFlightTotal } from './in-flight.js'
import type { CheckRun } from './channels.js'

type Api = typeof OTel

export const METER_NAME = 'graceful-core'

// Advice only (an SDK view wins): the SDK's default buckets are made for milliseconds.
const CHECK_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const SHUTDOWN_BUCKETS_S = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300]

interface Instruments {
  provider: OTel.MeterProvider
  shutdownDuration: OTel.Histogram
  connectionsClosed: OTel.Counter
  longLivedClosed: OTel.Counter
  checkDuration: OTel.Histogram
}

let current: Instruments | undefined

/** The instruments on the global MeterProvider, made on first use and again when the provider changed. */
export function instruments (api: Api): Instruments {
  const provider = api.metrics.getMeterProvider()
  if (current?.provider === provider) return current
  const meter = provider.getMeter(METER_NAME)
  const inFlight = meter.createObservableGauge('graceful.requests.in_flight', {
    description: 'HTTP requests the coordinators of this process are serving',
    unit: '{request}',
    valueType: api.ValueType.INT
  })
  inFlight.addCallback((result) => { result.observe(inFlightTotal()) })
  current = {
    provider,
    shutdownDuration: meter.createHistogram('graceful.shutdown.duration', {
      description: 'Time from the shutdown signal to the end of the run',
      unit: 's',
      advice: { explicitBucketBoundaries: SHUTDOWN_BUCKETS_S }
    }),
    connectionsClosed: meter.createCounter('graceful.connections.closed', {
      description: 'Connections the drain closed: idle at once, after their response, or destroyed at the deadline',
      unit: '{connection}',
      valueType: api.ValueType.INT
    }),
    longLivedClosed: meter.createCounter('graceful.long_lived.closed', {
      description: 'Long-lived connections the drain ended: WebSockets closed (handshake completed) or terminated at the deadline, event streams ended',
      unit: '{connection}',
      valueType: api.ValueType.INT
    }),
    checkDuration: meter.createHistogram('graceful.check.duration', {
      description: 'Duration of one readiness check run',
      unit: 's',
      advice: { explicitBucketBoundaries: CHECK_BUCKETS_S }
    })
  }
  return current
}

export function recordShutdownMetrics (api: Api, report: ShutdownReport): void {
  const { shutdownDuration, connectionsClosed, longLivedClosed } = instruments(api)
  shutdownDuration.record(report.durationMs / 1000, { 'graceful.shutdown.outcome': outcomeOf(report) })
  // Zeros too: every kind has a series from the first shutdown on, so a dashboard's rate is 0, not missing.
  connectionsClosed.add(report.sockets.closedIdle, { 'graceful.close.kind': 'idle' })
  connectionsClosed.add(report.sockets.closedAfterResponse, { 'graceful.close.kind': 'after_response' })
  connectionsClosed.add(report.sockets.destroyed, { 'graceful.close.kind': 'destroyed' })
  longLivedClosed.add(report.longLived.webSocketsClosed, { 'graceful.long_lived.kind': 'websocket' })
  longLivedClosed.add(report.longLived.webSocketsTerminated, { 'graceful.long_lived.kind': 'websocket_terminated' })
  longLivedClosed.add(report.longLived.streamsEnded, { 'graceful.long_lived.kind': 'event_stream' })
}

export function recordCheckMetrics (api: Api, run: CheckRun): void {
  instruments(api).checkDuration.record(run.durationMs / 1000, { 'graceful.check.name': run.name, 'graceful.check.outcome': run.outcome })
}

