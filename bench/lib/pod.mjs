// A "pod": one HTTP service in its own process, started as `node pod.mjs <kind> '<json options>'`.
// It listens on an ephemeral port of 127.0.0.1 and prints `BENCH {"type":"listening","port":N}`.
// Options: graceful (adapter options), port (default 0: ephemeral), keepAliveTimeout, maxLifeMs, ...
// tls: { keyFile, certFile } → the pod listens with HTTPS (the rolling update's TLS rows; bench/lib/tls.mjs).
// warmupMs: a slow start. The pod's "cache" is cold until warmupMs after it listens; /fast and /slow
// answer 503 meanwhile. Graceful pods register the warm-up as `graceful.startup('warm-up', ...)`, so
// their /ready answers 503 `starting` until it is over; the others' readiness answers 200 at once.
// Routes: GET and POST /fast (small JSON), GET /slow?ms=N (answers after N ms), GET /ready, GET /health.
// The ws-* kinds also accept WebSockets (bench/lib/pod-websockets.mjs: its `ws-reset` and `ws-stats`
// commands, and `ws-closes` at exit). stdin commands: `mem` → gc() and print heap/RSS; `cpu` → print
// process.cpuUsage(). stdin closing (the runner died) exits the pod.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { webSocketCommand, webSocketServer } from './pod-websockets.mjs'

const kind = process.argv[2]
const opts = JSON.parse(process.argv[3] || '{}')
const out = (msg) => process.stdout.write('BENCH ' + JSON.stringify(msg) + '\n')
const body = JSON.stringify({ ok: true, pid: process.pid, kind })
const tls = opts.tls ? { key: readFileSync(opts.tls.keyFile), cert: readFileSync(opts.tls.certFile) } : null
const createServer = (handler) => (tls ? https.createServer(tls, handler) : http.createServer(handler))
const fastifyTls = tls ? { https: tls } : {}

// Never outlive the runner: exit when stdin closes, and after maxLifeMs whatever happens.
process.stdin.on('data', (buf) => {
  for (const cmd of buf.toString().split('\n')) {
    if (cmd === 'mem') measure()
    if (cmd === 'cpu') { const c = process.cpuUsage(); out({ type: 'cpu', user: c.user, system: c.system }) }
    webSocketCommand(cmd, out)
  }
})
process.stdin.on('end', () => process.exit(98))
process.stdin.unref?.()
setTimeout(() => process.exit(97), opts.maxLifeMs ?? 600_000).unref()

function measure () {
  for (let i = 0; i < 4; i++) globalThis.gc?.()
  const m = process.memoryUsage()
  out({ type: 'mem', heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss, external: m.external, gc: typeof globalThis.gc === 'function' })
}

let warm = !opts.warmupMs
let warmedUp
/** Resolves when the warm-up is over (at once without warmupMs); a startup task for graceful pods. */
const warmUp = new Promise((resolve) => { warmedUp = resolve })
if (warm) warmedUp()
const coldBody = JSON.stringify({ error: 'cache not warm yet' })
const gateOnWarmUp = (graceful) => { if (opts.warmupMs) graceful.startup('warm-up', warmUp) }

const slowMs = (url) => {
  const q = url.indexOf('ms=')
  return q >= 0 ? Math.min(10_000, Number.parseInt(url.slice(q + 3), 10) || 1000) : 1000
}

function nodeHandler (req, res) {
  if (!warm) { res.statusCode = 503; res.end(coldBody); return }
  if (req.url.startsWith('/slow')) {
    setTimeout(() => { res.setHeader('content-type', 'application/json'); res.end(body) }, slowMs(req.url))
    return
  }
  res.setHeader('content-type', 'application/json')
  res.end(body)
}

function expressRoutes (app, withReady) {
  if (withReady) {
    app.get('/ready', (req, res) => res.json({ status: 'ok' }))
    app.get('/health', (req, res) => res.json({ status: 'ok' }))
  }
  // Only with a warm-up: the overhead section measures these routes without anything in front.
  if (opts.warmupMs) app.use(['/fast', '/slow'], (req, res, next) => (warm ? next() : res.status(503).type('application/json').send(coldBody)))
  app.get('/fast', (req, res) => res.type('application/json').send(body))
  app.post('/fast', (req, res) => res.type('application/json').send(body))
  app.get('/slow', (req, res) => {
    setTimeout(() => res.type('application/json').send(body), slowMs(req.url))
  })
}

function fastifyRoutes (app, withReady) {
  if (withReady) {
    app.get('/ready', async () => ({ status: 'ok' }))
    app.get('/health', async () => ({ status: 'ok' }))
  }
  if (opts.warmupMs) {
    app.addHook('onRequest', (req, reply, done) => {
      if (warm || !/^\/(fast|slow)/.test(req.url)) return done()
      reply.code(503).type('application/json').send(coldBody)
    })
  }
  app.get('/fast', (req, reply) => { reply.type('application/json').send(body) })
  app.post('/fast', (req, reply) => { reply.type('application/json').send(body) })
  app.get('/slow', (req, reply) => {
    setTimeout(() => reply.type('application/json').send(body), slowMs(req.url))
  })
}

/**
 * Reports the moment the listener closes (`listener-closed`), whoever closes it (the framework, the
 * library under test, graceful): the rolling-update timeline marks it. A server has no event for it
 * ('close' waits for the last connection), so the instance's close() is wrapped, on top of any
 * wrapper the library installed.
 */
function watchListenerClose (server) {
  const close = server.close
  let reported = false
  server.close = function (...args) {
    if (!reported && server.listening) {
      reported = true
      out({ type: 'listener-closed' })
    }
    return Reflect.apply(close, this, args)
  }
}

const listening = (server) => {
  watchListenerClose(server)
  const { port } = server.address()
  out({ type: 'listening', port, pid: process.pid, kind })
  if (!warm) setTimeout(() => { warm = true; warmedUp(); out({ type: 'warm' }) }, opts.warmupMs)
}

const reportTo = (coordinator) => coordinator.on('report', (report) => out({ type: 'report', report }))

const keepAlive = (server) => {
  if (opts.keepAliveTimeout) {
    server.keepAliveTimeout = opts.keepAliveTimeout
    server.headersTimeout = opts.keepAliveTimeout + 1000
  }
}

async function listenExpress (app) {
  const server = createServer(app)
  keepAlive(server)
  await new Promise((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve))
  return server
}

async function main () {
  switch (kind) {
    case 'http-bare': {
      const server = createServer(nodeHandler)
      keepAlive(server)
      server.listen(opts.port ?? 0, '127.0.0.1', () => listening(server))
      process.on('SIGTERM', () => server.close(() => process.exit(0)))
      break
    }
    case 'http-graceful': {
      const { createGraceful } = await import('graceful-core')
      const graceful = createGraceful({ logger: false, ...opts.graceful })
      gateOnWarmUp(graceful)
      reportTo(graceful)
      const server = createServer((req, res) => {
        if (req.url === '/ready') {
          const r = graceful.readiness()
          res.statusCode = r.ready ? 200 : 503
          res.end(JSON.stringify(r))
          return
        }
        nodeHandler(req, res)
      })
      keepAlive(server)
      graceful.addServer(server)
      server.listen(opts.port ?? 0, '127.0.0.1', () => listening(server))
      break
    }
    case 'fastify-bare':
    case 'fastify-close': {
      const { default: Fastify } = await import('fastify')
      const app = Fastify({ ...fastifyTls, ...(opts.keepAliveTimeout ? { keepAliveTimeout: opts.keepAliveTimeout } : {}) })
      fastifyRoutes(app, true)
      await app.listen({ port: opts.port ?? 0, host: '127.0.0.1' })
      // fastify's own shutdown, as documented: app.close() on SIGTERM.
      process.on('SIGTERM', async () => { await app.close(); process.exit(0) })
      listening(app.server)
      break
    }
    case 'fastify-graceful': {
      const { default: Fastify } = await import('fastify')
      const { default: fastifyGraceful } = await import('fastify-graceful')
      const app = Fastify({ return503OnClosing: false, forceCloseConnections: false, ...fastifyTls, ...(opts.keepAliveTimeout ? { keepAliveTimeout: opts.keepAliveTimeout } : {}) })
      await app.register(fastifyGraceful, { ...opts.graceful })
      gateOnWarmUp(app.graceful)
      reportTo(app.graceful)
      fastifyRoutes(app, false)
      await app.listen({ port: opts.port ?? 0, host: '127.0.0.1' })
      listening(app.server)
      break
    }
    case 'express-bare':
    case 'express-close': {
      const { default: express } = await import('express')
      const app = express()
      expressRoutes(app, true)
      const server = await listenExpress(app)
      // The common hand-written shutdown: stop listening, exit once every connection is gone.
      process.on('SIGTERM', () => server.close(() => process.exit(0)))
      listening(server)
      break
    }
    case 'express-graceful': {
      const { default: express } = await import('express')
      const { expressGraceful } = await import('express-graceful')
      const graceful = expressGraceful({ logger: false, ...opts.graceful })
      gateOnWarmUp(graceful)
      reportTo(graceful)
      const app = express()
      app.use(graceful.middleware)
      expressRoutes(app, false)
      const server = await listenExpress(app)
      graceful.attach(server)
      listening(server)
      break
    }
    case 'terminus': {
      const { default: express } = await import('express')
      const { createTerminus } = await import('@godaddy/terminus')
      const app = express()
      expressRoutes(app, false)
      const server = await listenExpress(app)
      const delay = opts.beforeShutdownMs ?? 1000
      createTerminus(server, {
        signals: ['SIGTERM'],
        healthChecks: { '/ready': async () => ({}), '/health': async () => ({}) },
        // The README's Kubernetes advice: wait in beforeShutdown so the LB takes the pod out first.
        beforeShutdown: () => new Promise((resolve) => setTimeout(resolve, delay)),
        timeout: opts.timeoutMs ?? 10_000
      })
      listening(server)
      break
    }
    case 'http-terminator': {
      const { default: express } = await import('express')
      const { createHttpTerminator } = await import('http-terminator')
      const app = express()
      expressRoutes(app, true)
      const server = await listenExpress(app)
      const terminator = createHttpTerminator({ server, gracefulTerminationTimeout: opts.timeoutMs ?? 10_000 })
      process.on('SIGTERM', async () => { await terminator.terminate(); process.exit(0) })
      listening(server)
      break
    }
    case 'nest-graceful': {
      // NestJS 11 on platform-express with nestjs-graceful: a controller for the routes, probes from the module.
      await import('reflect-metadata')
      const { Controller, Get, Post, Module, Res } = await import('@nestjs/common')
      const { NestFactory } = await import('@nestjs/core')
      const { attachGraceful, GracefulModule } = await import('nestjs-graceful')
      class Routes {
        fast (res) { if (warm) res.status(200).type('application/json').send(body); else res.status(503).type('application/json').send(coldBody) }
        postFast (res) { res.status(200).type('application/json').send(body) }
        slow (res) { if (!warm) return res.status(503).type('application/json').send(coldBody); setTimeout(() => res.type('application/json').send(body), slowMs(res.req.url)) }
      }
      for (const [name, verb, path] of [['fast', Get, 'fast'], ['postFast', Post, 'fast'], ['slow', Get, 'slow']]) {
        Res()(Routes.prototype, name, 0)
        verb(path)(Routes.prototype, name, Object.getOwnPropertyDescriptor(Routes.prototype, name))
      }
      Controller()(Routes)
      class AppModule {}
      Module({ imports: [GracefulModule.forRoot({ logger: false, ...opts.graceful })], controllers: [Routes] })(AppModule)
      const app = await NestFactory.create(AppModule, { logger: false, ...(tls ? { httpsOptions: tls } : {}) })
      const graceful = attachGraceful(app)
      gateOnWarmUp(graceful)
      reportTo(graceful)
      const server = app.getHttpServer()
      keepAlive(server)
      await app.listen(opts.port ?? 0, '127.0.0.1')
      listening(server)
      break
    }
    case 'ws-graceful':
    case 'ws-unregistered': {
      // node:http + graceful-core; ws-unregistered leaves out addWebSocketServer (the WebSockets are
      // then only upgraded sockets, ended at the drain deadline).
      const { createGraceful } = await import('graceful-core')
      const graceful = createGraceful({ logger: false, ...opts.graceful })
      reportTo(graceful)
      const server = http.createServer((req, res) => { if (!graceful.handleProbe(req, res)) nodeHandler(req, res) })
      const wss = await webSocketServer(server, out)
      if (kind === 'ws-graceful') graceful.addWebSocketServer(wss)
      graceful.addServer(server)
      server.listen(opts.port ?? 0, '127.0.0.1', () => listening(server))
      break
    }
    case 'ws-naive': {
      // What a service without graceful does on SIGTERM: close every WebSocket at once (1001, or
      // terminate() with opts.terminate), stop listening, exit once the last socket is gone.
      const server = http.createServer((req, res) => {
        if (req.url === '/ready' || req.url === '/health') { res.setHeader('content-type', 'application/json'); res.end('{"status":"ok"}'); return }
        nodeHandler(req, res)
      })
      const wss = await webSocketServer(server, out)
      process.on('SIGTERM', () => {
        for (const ws of wss.clients) opts.terminate ? ws.terminate() : ws.close(1001, 'going away')
        server.close(() => process.exit(0))
        setTimeout(() => process.exit(1), opts.timeoutMs ?? 10_000).unref()
      })
      server.listen(opts.port ?? 0, '127.0.0.1', () => listening(server))
      break
    }
    default:
      throw new Error(`unknown pod kind '${kind}'`)
  }
}

main().catch((err) => {
  console.error(err)
  out({ type: 'error', message: String(err?.stack || err) })
  process.exit(2)
})
