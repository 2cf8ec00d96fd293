/**
 * Prometheus metrics on GET /metrics, through OpenTelemetry: graceful-core records its metrics
 * (requests in flight, readiness check durations, and at the end of a run the shutdown's duration
 * and the connections it closed) on the global MeterProvider registered here, and the Prometheus
 * exporter answers the scrape on the service's own port. No exporter server of its own: one port
 * to expose, and the drain closes it with everything else.
 *
 * Call setupMetrics() before the coordinator is created: graceful makes its instruments on the
 * MeterProvider that is registered at that moment.
 * @module
 */

import { metrics } from '@opentelemetry/api'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { MeterProvider } from '@opentelemetry/sdk-metrics'

export const METRICS_PATH = '/metrics'

/**
 * Registers the global MeterProvider with a Prometheus exporter; returns the request handler of
 * GET /metrics (the Prometheus text format).
 * @returns {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void}
 */
export function setupMetrics () {
  const exporter = new PrometheusExporter({ preventServerStart: true })
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }))
  return (req, res) => { exporter.getMetricsRequestHandler(req, res) }
}
