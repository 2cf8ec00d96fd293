/**
 * express-graceful under real callers: an application's own probe route is not silently shadowed, and
 * a programmatic shutdown() resolves without ending the process.
 */
import t, { type Test } from 'tap'
import type http from 'node:http'
import express5 from 'express'
import { expressGraceful } from '../src/index.js'

const express4 = (await import('express4' as string)).default as typeof express5

function recorder (): { warnings: Array<{ obj: Record<string, unknown>, msg: string | undefined }>, logger: { info: () => void, warn: (obj: object, msg?: string) => void, error: () => void } } {
  const warnings: Array<{ obj: Record<string, unknown>, msg: string | undefined }> = []
  return { warnings, logger: { info: () => {}, warn: (obj, msg) => { warnings.push({ obj: obj as Record<string, unknown>, msg }) }, error: () => {} } }
}

async function listen (t: Test, app: ReturnType<typeof express5>): Promise<http.Server> {
  const server = await new Promise<http.Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return server
}

for (const [name, express] of [['express 5', express5], ['express 4', express4]] as const) {
  t.test(`${name}: warns once, naming the path and the option, when the application has its own /health route`, async (t) => {
    const { warnings, logger } = recorder()
    const graceful = expressGraceful({ signals: [], exit: false, logger })
    t.teardown(() => graceful.shutdown())
    const app = express()
    app.use(graceful.middleware)
    app.get('/health', (_req, res) => { res.json({ mine: true }) })
    app.get('/other', (_req, res) => { res.json({ other: true }) })
    graceful.attach(await listen(t, app))
    const shadowed = warnings.filter((w) => w.obj.path === '/health')
    t.equal(shadowed.length, 1, 'one warning')
    t.match(shadowed[0]?.msg, /own \/health route is never reached.*healthPath/)
    t.notOk(warnings.some((w) => w.obj.path === '/other'), 'other routes are not mentioned')
  })

  t.test(`${name}: finds a shadowed /ready route from the first request when attach() was not called`, async (t) => {
    const { warnings, logger } = recorder()
    const graceful = expressGraceful({ signals: [], exit: false, logger })
    t.teardown(() => graceful.shutdown())
    const app = express()
    app.use(graceful.middleware)
    app.get('/ready', (_req, res) => { res.json({ mine: true }) })
    const server = await listen(t, app)
    const { port } = server.address() as { port: number }
    const res = await fetch(`http://127.0.0.1:${port}/ready`)
    t.equal(res.status, 200)
    t.match(await res.json(), { status: 'healthy' }, 'the library still answers its probe')
    t.match(warnings.find((w) => w.obj.path === '/ready')?.msg, /readyPath/)
  })

  t.test(`${name}: no warning when healthPath moves the probe away from the application's route`, async (t) => {
    const { warnings, logger } = recorder()
    const graceful = expressGraceful({ signals: [], exit: false, logger, healthPath: '/livez' })
    t.teardown(() => graceful.shutdown())
    const app = express()
    app.use(graceful.middleware)
    app.get('/health', (_req, res) => { res.json({ mine: true }) })
    graceful.attach(await listen(t, app))
    t.same(warnings, [])
  })
}

t.test('shutdown() called by code resolves with the report and never calls exit', async (t) => {
  const exits: number[] = []
  const graceful = expressGraceful({ signals: [], logger: false, exit: (code) => { exits.push(code) } })
  const app = express5()
  app.use(graceful.middleware)
  graceful.attach(await listen(t, app))
  const report = await graceful.shutdown('tests done')
  t.equal(report.exitCode, 0)
  t.same(exits, [])
})
