/**
 * The example service on fastify. Run: `node examples/service/fastify.mjs` (settings: src/config.mjs).
 *
 * GET /health, GET /ready  liveness / readiness, from fastify-graceful
 * POST /jobs               enqueue a job (JSON body: { "payload": … }) → 202 { id, pending }
 * GET /stats               counters, queue, worker, what the last start restored
 * GET /slow?ms=1000        answers after `ms` milliseconds (shows in-flight requests draining)
 * GET /events              server-sent events, one every 200 ms, ended with a `retry:` hint by the drain
 * GET /metrics             Prometheus metrics (graceful's, through OpenTelemetry; see src/metrics.mjs)
 *
 * SIGTERM / SIGINT start the shutdown; the coordinator logs its report as one JSON line and exits.
 */

import Fastify, { LogController } from 'fastify'
import fastifyGraceful from 'fastify-graceful'
import { loadConfig } from './src/config.mjs'
import { createService } from './src/service.mjs'
import { METRICS_PATH, setupMetrics } from './src/metrics.mjs'
import { QueueClosedError } from './src/queue.mjs'

const config = loadConfig()
const serveMetrics = setupMetrics() // before the coordinator exists (see src/metrics.mjs)

const app = Fastify({
  logger: { level: config.logLevel },
  logController: new LogController({ disableRequestLogging: !config.logRequests }),
  // The coordinator decides what a request sees while shutting down, not fastify's own closing:
  return503OnClosing: false,
  forceCloseConnections: false
})
// Scrapes are not traffic: they do not keep a traffic-aware pre-stop window open.
await app.register(fastifyGraceful, { ...config.graceful, probePaths: [METRICS_PATH] })

const service = createService({ graceful: app.graceful, config, log: app.log })

app.post('/jobs', async (request, reply) => {
  service.countRequest()
  const body = /** @type {{ payload?: unknown } | null | undefined} */ (request.body)
  try {
    return reply.code(202).send(service.enqueue(body?.payload))
  } catch (err) {
    if (err instanceof QueueClosedError) return reply.code(503).send({ error: err.message })
    throw err
  }
})

app.get('/stats', async () => {
  service.countRequest()
  return service.stats()
})

app.get('/slow', async request => {
  service.countRequest()
  const query = /** @type {{ ms?: string }} */ (request.query)
  return service.slow(query.ms)
})

app.get('/events', (request, reply) => {
  service.countRequest()
  reply.hijack() // the stream is written on the raw response, outside fastify's reply cycle
  service.events(request.raw, reply.raw)
})

app.get(METRICS_PATH, (request, reply) => {
  reply.hijack() // the exporter writes the raw response
  serveMetrics(request.raw, reply.raw)
})

const url = await app.listen({ port: config.port, host: config.host })
app.log.info({ event: 'listening', url, framework: 'fastify' }, 'service listening')
