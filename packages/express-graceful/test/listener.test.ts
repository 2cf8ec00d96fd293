/**
 * express-graceful's request-listener shape, `http.createServer(graceful.requestListener(app))` with
 * `attach(server)`, on express 5 and 4: the probes are answered before express, the application's
 * routes and its 404 are express's own, a request in flight at shutdown is counted once and ends
 * with Connection: close, and a shadowed probe route is still warned of.
 */
import t from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import express5 from 'express'
import { request } from 'undici'
import { expressGraceful } from '../src/index.js'

const express4 = (await import('express4' as string)).default as typeof express5

for (const [version, express] of [['express 5', express5], ['express 4', express4]] as const) {
  t.test(`${version}: probes before express, the rest to the app; the request in flight at shutdown is counted once, with Connection: close`, async (t) => {
    const graceful = expressGraceful({ signals: [], exit: false, logger: false, preStopDelayMs: 100 })
    t.teardown(async () => { await graceful.shutdown('teardown') })
    const app = express()
    const seen: string[] = []
    app.use((req, _res, next) => { seen.push(req.url); next() })
    let release!: () => void
    const released = new Promise<void>((resolve) => { release = resolve })
    let arrived!: () => void
    const slowArrived = new Promise<void>((resolve) => { arrived = resolve })
    app.get('/work', (_req, res) => { res.json({ work: 'done' }) })
    app.get('/slow', (_req, res) => {
      arrived()
      void released.then(() => res.send('slow done'))
    })
    const server = http.createServer(graceful.requestListener(app))
    t.equal(graceful.attach(server), server, 'attach returns the server')
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.teardown(() => { server.closeAllConnections(); server.close() })
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

    const ready = await request(`${origin}/ready?probe=1`)
    t.equal(ready.statusCode, 200)
    t.same(await ready.body.json(), { status: 'healthy', ready: true })
    const head = await request(`${origin}/health`, { method: 'HEAD' })
    t.equal(head.statusCode, 200)
    t.equal(await head.body.text(), '', 'HEAD has no body')
    t.same(await (await request(`${origin}/work`)).body.json(), { work: 'done' })
    const missing = await request(`${origin}/missing`)
    t.equal(missing.statusCode, 404, 'express answers what it has no route for')
    await missing.body.text()
    t.same(seen, ['/work', '/missing'], 'the probes never reached express')

    const slow = request(`${origin}/slow`)
    await slowArrived
    const run = graceful.shutdown('test')
    const draining = await request(`${origin}/ready`)
    t.equal(draining.statusCode, 503)
    t.same(await draining.body.json(), { status: 'draining', ready: false })
    release()
    const res = await slow
    t.equal(await res.body.text(), 'slow done')
    t.equal(res.headers.connection, 'close', 'the response in flight carries Connection: close')
    const report = await run
    t.equal(report.requests.inFlightAtSignal, 1, 'one request in flight at the signal, counted once')
    t.equal(report.requests.completedAfterSignal, 1)
    t.equal(report.exitCode, 0)
    t.equal(server.listening, false, 'the server was drained')
  })

  t.test(`${version}: the application's own /health route behind requestListener(app) is warned of at attach()`, async (t) => {
    const warnings: Array<{ obj: Record<string, unknown>, msg: string | undefined }> = []
    const logger = { info: () => {}, warn: (obj: object, msg?: string) => { warnings.push({ obj: obj as Record<string, unknown>, msg }) }, error: () => {} }
    const graceful = expressGraceful({ signals: [], exit: false, logger })
    t.teardown(() => graceful.shutdown())
    const app = express()
    app.get('/health', (_req, res) => { res.json({ mine: true }) })
    const server = graceful.attach(http.createServer(graceful.requestListener(app)))
    t.teardown(() => { server.close() })
    const shadowed = warnings.filter((w) => w.obj.path === '/health')
    t.equal(shadowed.length, 1, 'one warning')
    t.match(shadowed[0]?.msg, /own \/health route is never reached.*healthPath/)
  })
}
