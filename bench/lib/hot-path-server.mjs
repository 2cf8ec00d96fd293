// One server for the hot-path overhead section: `node hot-path-server.mjs <door> <side>`.
// The same framework app answers GET /fast with a small JSON body: `bare`, with graceful's door
// registered as its README says (`graceful`), or, for the middleware doors (express, koa, hono),
// with one empty pass-through middleware (`passthrough`: what any first middleware costs in that
// framework), or with the door's request-listener shape (`listener`: the probes answered by
// `requestListener()` around the app's node:http listener, no middleware). Hono also has
// `fetch-wrapper`: the probes answered by a wrapper of app.fetch (the shape graceful does not ship,
// measured for comparison). Prints `BENCH {"type":"listening","port":N}`.
// stdin commands: `cpu` → process.cpuUsage(); `alloc-start` / `alloc-stop` → JS heap bytes
// allocated in between (v8.GCProfiler: what each garbage collection found, plus the growth since
// the last one). Allocation per request is what the CPU noise of a shared machine cannot move.
import http from 'node:http'
import v8 from 'node:v8'

const [door, side] = process.argv.slice(2)
const graceful = side === 'graceful'
const passthrough = side === 'passthrough'
const listener = side === 'listener'
const fetchWrapper = side === 'fetch-wrapper'
const out = (msg) => process.stdout.write('BENCH ' + JSON.stringify(msg) + '\n')
const body = JSON.stringify({ ok: true, pid: process.pid })
const options = { logger: false, preStopDelayMs: 0 }

let profiler = null
let usedAtStart = 0
process.stdin.on('data', (buf) => {
  for (const cmd of buf.toString().split('\n')) {
    if (cmd === 'cpu') { const c = process.cpuUsage(); out({ type: 'cpu', user: c.user, system: c.system }) }
    if (cmd === 'alloc-start') {
      globalThis.gc?.()
      usedAtStart = v8.getHeapStatistics().used_heap_size
      profiler = new v8.GCProfiler()
      profiler.start()
      out({ type: 'alloc-started' })
    }
    if (cmd === 'alloc-stop') out({ type: 'alloc', bytes: allocatedSinceStart() })
  }
})
process.stdin.on('end', () => process.exit(98))
setTimeout(() => process.exit(97), 900_000).unref()

function allocatedSinceStart () {
  const usedNow = v8.getHeapStatistics().used_heap_size
  const { statistics } = profiler.stop()
  let bytes = 0
  let usedAfterLast = usedAtStart
  for (const gc of statistics) {
    bytes += gc.beforeGC.heapStatistics.usedHeapSize - usedAfterLast
    usedAfterLast = gc.afterGC.heapStatistics.usedHeapSize
  }
  return bytes + usedNow - usedAfterLast
}

const json = (res) => { res.setHeader('content-type', 'application/json'); res.end(body) }

async function listenNode (handler) {
  const server = http.createServer(handler)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

const DOORS = {
  async 'node:http' () {
    if (!graceful) return listenNode((req, res) => json(res))
    const { createGraceful } = await import('graceful-core')
    const coordinator = createGraceful(options)
    const server = await listenNode((req, res) => { if (!coordinator.handleProbe(req, res)) json(res) })
    coordinator.addServer(server)
    return server
  },
  async fastify () {
    const { default: Fastify } = await import('fastify')
    const app = Fastify()
    if (graceful) await app.register((await import('fastify-graceful')).default, options)
    app.get('/fast', (req, reply) => { reply.type('application/json').send(body) })
    await app.listen({ port: 0, host: '127.0.0.1' })
    return app.server
  },
  async express () {
    const { default: express } = await import('express')
    const app = express()
    const door = graceful || listener ? (await import('express-graceful')).expressGraceful(options) : null
    if (graceful) app.use(door.middleware)
    if (passthrough) app.use((req, res, next) => next())
    app.get('/fast', (req, res) => res.type('application/json').send(body))
    const server = await listenNode(listener ? door.requestListener(app) : app)
    door?.attach(server)
    return server
  },
  async koa () {
    const { default: Koa } = await import('koa')
    const app = new Koa()
    const door = graceful || listener ? (await import('koa-graceful')).koaGraceful(options) : null
    if (graceful) app.use(door.middleware)
    if (passthrough) app.use((ctx, next) => next())
    app.use((ctx) => { if (ctx.path === '/fast') { ctx.type = 'application/json'; ctx.body = body } })
    const server = await listenNode(listener ? door.requestListener(app.callback()) : app.callback())
    door?.attach(server)
    return server
  },
  async hono () {
    const { serve } = await import('@hono/node-server')
    const { Hono } = await import('hono')
    const app = new Hono()
    const door = graceful || listener || fetchWrapper ? (await import('hono-graceful')).honoGraceful(options) : null
    if (graceful) app.use(door.middleware)
    if (passthrough) app.use((c, next) => next())
    app.get('/fast', (c) => c.body(body, 200, { 'content-type': 'application/json' }))
    const shape = listener
      ? { fetch: app.fetch, createServer: door.createServer }
      : { fetch: fetchWrapper ? probesFirst(door, app.fetch) : app.fetch }
    const server = await new Promise((resolve) => { const s = serve({ ...shape, port: 0, hostname: '127.0.0.1' }, () => resolve(s)) })
    door?.attach(server)
    return server
  },
  'nestjs-express': () => nest(false),
  'nestjs-fastify': () => nest(true)
}

/**
 * A fetch handler that answers the probes before `fetch` and counts nothing (the node server's
 * drainer counts the requests): the fetch-level alternative to requestListener() on @hono/node-server.
 */
function probesFirst (graceful, fetch) {
  const answer = async (kind) => {
    const { statusCode, headers, body } = await graceful.probe(kind)
    return new Response(JSON.stringify(body), { status: statusCode, headers })
  }
  return (request, env) => {
    const url = request.url
    const start = url.indexOf('/', url.indexOf('//') + 2)
    const kind = graceful.probeKind(request.method, url.slice(start))
    return kind === undefined ? fetch(request, env) : answer(kind)
  }
}

/** NestJS 11 with one controller; with graceful: GracefulModule.forRoot and attachGraceful, as its README says. */
async function nest (onFastify) {
  await import('reflect-metadata')
  const { Controller, Get, Header, Module } = await import('@nestjs/common')
  const { NestFactory } = await import('@nestjs/core')
  class Routes { fast () { return body } }
  const method = Object.getOwnPropertyDescriptor(Routes.prototype, 'fast')
  Header('content-type', 'application/json')(Routes.prototype, 'fast', method)
  Get('fast')(Routes.prototype, 'fast', method)
  Controller()(Routes)
  const nestGraceful = graceful && await import('nestjs-graceful')
  class AppModule {}
  Module({ imports: nestGraceful ? [nestGraceful.GracefulModule.forRoot(options)] : [], controllers: [Routes] })(AppModule)
  const adapter = onFastify ? new (await import('@nestjs/platform-fastify')).FastifyAdapter() : undefined
  const app = await NestFactory.create(AppModule, adapter, { logger: false })
  if (nestGraceful) nestGraceful.attachGraceful(app)
  await app.listen(0, '127.0.0.1')
  return app.getHttpServer()
}

const MIDDLEWARE_DOORS = ['express', 'koa', 'hono']
if (!DOORS[door] || !['bare', 'graceful', 'passthrough', 'listener', 'fetch-wrapper'].includes(side) ||
    ((passthrough || listener) && !MIDDLEWARE_DOORS.includes(door)) || (fetchWrapper && door !== 'hono')) {
  throw new Error(`usage: hot-path-server.mjs <${Object.keys(DOORS).join('|')}> <bare|graceful|passthrough|listener (${MIDDLEWARE_DOORS.join(', ')})|fetch-wrapper (hono)>`)
}
const server = await DOORS[door]()
// The instructions section pauses between its warm-up and its measured window (callgrind_control
// takes seconds under valgrind): a longer keep-alive timeout keeps its connections open meanwhile.
if (process.env.HOT_PATH_KEEP_ALIVE_MS) server.keepAliveTimeout = Number(process.env.HOT_PATH_KEEP_ALIVE_MS)
out({ type: 'listening', port: server.address().port })
