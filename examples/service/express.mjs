/**
 * The example service on express. Run: `node examples/service/express.mjs` (settings: src/config.mjs).
 * Same routes and behaviour as fastify.mjs; see there.
 */

import express from 'express'
import { expressGraceful } from 'express-graceful'
import { loadConfig } from './src/config.mjs'
import { createLogger } from './src/log.mjs'
import { createService } from './src/service.mjs'
import { METRICS_PATH, setupMetrics } from './src/metrics.mjs'
import { QueueClosedError } from './src/queue.mjs'

const config = loadConfig()
const log = createLogger({ level: config.logLevel })
const serveMetrics = setupMetrics() // before the coordinator exists (see src/metrics.mjs)

// Scrapes are not traffic: they do not keep a traffic-aware pre-stop window open.
const graceful = expressGraceful({ ...config.graceful, probePaths: [METRICS_PATH], logger: log })
const service = createService({ graceful, config, log })

const app = express()
app.disable('x-powered-by')
app.use(graceful.middleware) // first: /health, /ready and the draining behaviour
app.use(express.json())

app.post('/jobs', (req, res) => {
  service.countRequest()
  try {
    res.status(202).json(service.enqueue(req.body?.payload))
  } catch (err) {
    if (err instanceof QueueClosedError) {
      res.status(503).json({ error: err.message })
      return
    }
    throw err
  }
})

app.get('/stats', (req, res) => {
  service.countRequest()
  res.json(service.stats())
})

app.get('/slow', async (req, res) => {
  service.countRequest()
  const ms = typeof req.query.ms === 'string' ? req.query.ms : undefined
  res.json(await service.slow(ms))
})

app.get('/events', (req, res) => {
  service.countRequest()
  service.events(req, res)
})

app.get(METRICS_PATH, (req, res) => { serveMetrics(req, res) })

const server = app.listen(config.port, config.host)
graceful.attach(server)
server.once('listening', () => {
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  log.info({ event: 'listening', url: `http://${host}:${address.port}`, framework: 'express' }, 'service listening')
})
server.once('error', err => {
  // Nothing was served yet: nothing to drain or persist.
  log.error({ err }, 'cannot listen')
  process.exit(1)
})
