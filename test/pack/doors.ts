/**
 * One entry per runtime package (every non-private package under packages/), used by
 * ../pack.test.ts after the package was packed and installed with npm into a fresh project.
 *
 * - `esm` / `cjs`: a tiny app, run as a .mjs / .cjs file. It uses only the package, its framework and
 *   node: built-ins, listens on 127.0.0.1 port 0, prints `listening <port>` once it does, and keeps
 *   the default signals and `exit`, so SIGTERM ends it with the report line and exit code 0.
 * - `types`: a TypeScript consumer, type-checked under nodenext (.mts), node16 (.cts, CommonJS),
 *   bundler and node10 (.ts) with the repository's TypeScript. The `@ts-expect-error` line proves the
 *   declarations were found and are strict (a missing or `any`-typed package fails it).
 *
 * The framework versions installed next to a package are the ones its devDependencies pin for its
 * peerDependencies (plus their `@types/` packages when it pins those, and `alsoInstall`).
 */
export interface Door {
  /** More packages the apps need besides the peers (a NestJS platform adapter), at the version the package's devDependencies pin. */
  readonly alsoInstall?: readonly string[]
  readonly esm: string
  readonly cjs: string
  readonly types: string
}

const nodeHttpApp = (load: string): string => `${load}
const graceful = createGraceful({ preStopDelayMs: 0, gracePeriodMs: 5000 })
const server = http.createServer((req, res) => {
  if (!graceful.handleProbe(req, res)) res.end('hello\\n')
})
graceful.addServer(server)
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port))
`

const fastifyApp = (load: string, start: string): string => `${load}
const app = Fastify({ return503OnClosing: false, forceCloseConnections: false })
app.register(fastifyGraceful, { preStopDelayMs: 0, gracePeriodMs: 5000 })
app.get('/', async () => ({ hello: 'world' }))
${start}
`

const expressApp = (load: string): string => `${load}
const graceful = expressGraceful({ preStopDelayMs: 0, gracePeriodMs: 5000 })
const app = express()
app.use(graceful.middleware)
app.get('/', (req, res) => res.json({ hello: 'world' }))
const server = graceful.attach(app.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port)))
`

const koaApp = (load: string): string => `${load}
const graceful = koaGraceful({ preStopDelayMs: 0, gracePeriodMs: 5000 })
const app = new Koa()
app.use(graceful.middleware)
app.use((ctx) => { ctx.body = { hello: 'world' } })
const server = graceful.attach(app.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port)))
`

const honoApp = (load: string): string => `${load}
const graceful = honoGraceful({ preStopDelayMs: 0, gracePeriodMs: 5000 })
const app = new Hono()
app.use(graceful.middleware)
app.get('/', (c) => c.json({ hello: 'world' }))
graceful.attach(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log('listening ' + info.port)))
`

// Decorators applied as functions: the apps are plain JavaScript.
const nestApp = (load: string, start: string): string => `${load}
class AppModule {}
Module({ imports: [GracefulModule.forRoot({ preStopDelayMs: 0, gracePeriodMs: 5000 })] })(AppModule)
async function main () {
  const app = await NestFactory.create(AppModule, { logger: ['log', 'error', 'warn'] })
  attachGraceful(app)
  await app.listen(0, '127.0.0.1')
  console.log('listening ' + app.getHttpServer().address().port)
}
${start}
`

export const doors: Readonly<Record<string, Door>> = {
  'graceful-core': {
    esm: nodeHttpApp("import http from 'node:http'\nimport { createGraceful } from 'graceful-core'"),
    cjs: nodeHttpApp("const http = require('node:http')\nconst { createGraceful } = require('graceful-core')"),
    types: `import { createGraceful, type GracefulOptions, type ShutdownReport } from 'graceful-core'
const options: GracefulOptions = { gracePeriodMs: 25_000, signals: ['SIGTERM'], exit: false }
const graceful = createGraceful(options)
graceful.onCleanup('db', () => undefined, { afterPersist: true })
graceful.track(async (signal: AbortSignal) => { signal.throwIfAborted() })
export const report: Promise<ShutdownReport> = graceful.shutdown('type check')
// @ts-expect-error gracePeriodMs is a number of milliseconds
createGraceful({ gracePeriodMs: '25s' })
`
  },
  'fastify-graceful': {
    esm: fastifyApp("import Fastify from 'fastify'\nimport fastifyGraceful from 'fastify-graceful'",
      "await app.listen({ port: 0, host: '127.0.0.1' })\nconsole.log('listening ' + app.server.address().port)"),
    // require() of the package itself, the way CommonJS fastify plugins are registered.
    cjs: fastifyApp("const Fastify = require('fastify')\nconst fastifyGraceful = require('fastify-graceful')",
      "app.listen({ port: 0, host: '127.0.0.1' }).then(() => console.log('listening ' + app.server.address().port))"),
    types: `import Fastify from 'fastify'
import fastifyGraceful, { type FastifyGracefulOptions } from 'fastify-graceful'
const options: FastifyGracefulOptions = { preStopDelayMs: 1000, readyPath: '/ready' }
const app = Fastify()
app.register(fastifyGraceful, options)
app.graceful.onPersist('state', async (signal: AbortSignal) => { signal.throwIfAborted() })
// @ts-expect-error the coordinator has no such method
app.graceful.stopEverything()
`
  },
  'express-graceful': {
    esm: expressApp("import express from 'express'\nimport { expressGraceful } from 'express-graceful'"),
    cjs: expressApp("const express = require('express')\nconst { expressGraceful } = require('express-graceful')"),
    types: `import express from 'express'
import { expressGraceful, type ExpressGraceful } from 'express-graceful'
const graceful: ExpressGraceful = expressGraceful({ preStopDelayMs: 1000 })
const app = express()
app.use(graceful.middleware)
graceful.attach(app.listen(0))
// @ts-expect-error preStopDelayMs is a number of milliseconds
expressGraceful({ preStopDelayMs: true })
`
  },
  'koa-graceful': {
    esm: koaApp("import Koa from 'koa'\nimport { koaGraceful } from 'koa-graceful'"),
    cjs: koaApp("const Koa = require('koa')\nconst { koaGraceful } = require('koa-graceful')"),
    types: `import Koa from 'koa'
import { koaGraceful, type KoaGraceful } from 'koa-graceful'
const graceful: KoaGraceful = koaGraceful({ preStopDelayMs: 1000 })
const app = new Koa()
app.use(graceful.middleware)
graceful.attach(app.listen(0))
// @ts-expect-error gracePeriodMs is a number of milliseconds
koaGraceful({ gracePeriodMs: '25s' })
`
  },
  'hono-graceful': {
    esm: honoApp("import { Hono } from 'hono'\nimport { serve } from '@hono/node-server'\nimport { honoGraceful } from 'hono-graceful'"),
    cjs: honoApp("const { Hono } = require('hono')\nconst { serve } = require('@hono/node-server')\nconst { honoGraceful } = require('hono-graceful')"),
    types: `import { Hono } from 'hono'
import { serve } from '@hono/node-server'
import { honoGraceful, type HonoGraceful } from 'hono-graceful'
const graceful: HonoGraceful = honoGraceful({ preStopDelayMs: 1000 })
const app = new Hono()
app.use(graceful.middleware)
graceful.attach(serve({ fetch: app.fetch, port: 0 }))
// @ts-expect-error preStopDelayMs is a number of milliseconds
honoGraceful({ preStopDelayMs: true })
`
  },
  'nestjs-graceful': {
    alsoInstall: ['@nestjs/platform-express'],
    esm: nestApp("import 'reflect-metadata'\nimport { Module } from '@nestjs/common'\nimport { NestFactory } from '@nestjs/core'\nimport { attachGraceful, GracefulModule } from 'nestjs-graceful'",
      'await main()'),
    cjs: nestApp("require('reflect-metadata')\nconst { Module } = require('@nestjs/common')\nconst { NestFactory } = require('@nestjs/core')\nconst { attachGraceful, GracefulModule } = require('nestjs-graceful')",
      'main().catch((error) => { console.error(error); process.exit(1) })'),
    types: `import 'reflect-metadata'
import { Module } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { attachGraceful, GracefulModule, type NestGracefulOptions } from 'nestjs-graceful'
const options: NestGracefulOptions = { preStopDelayMs: 1000 }
class AppModule {}
Module({ imports: [GracefulModule.forRoot(options)] })(AppModule)
export async function main (): Promise<void> {
  const app = await NestFactory.create(AppModule)
  attachGraceful(app).onCleanup('cache', () => undefined)
  await app.listen(0)
}
// @ts-expect-error gracePeriodMs is a number of milliseconds
GracefulModule.forRoot({ gracePeriodMs: '25s' })
`
  }
}
