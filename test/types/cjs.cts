// What a CommonJS application (a .cts file, or module commonjs) writes with each door, with
// `import x = require()` as for any CommonJS package; see esm.mts.
import http = require('node:http')
import Fastify = require('fastify')
import fastifyGraceful = require('fastify-graceful')
import core = require('graceful-core')
import express = require('express-graceful')
import koa = require('koa-graceful')
import hono = require('hono-graceful')

const options: fastifyGraceful.FastifyGracefulOptions = { preStopDelayMs: 1000 }
const app = Fastify()
app.register(fastifyGraceful, options) // the plugin itself, as fastify plugins are
app.register(fastifyGraceful.fastifyGraceful)
app.register(fastifyGraceful.default)
export const fromFastify: core.Graceful = app.graceful
app.graceful.onPersist('state', async (signal: AbortSignal) => { signal.throwIfAborted() })
// @ts-expect-error the coordinator has no such method
app.graceful.stopEverything()

export const all: core.Graceful[] = [
  core.createGraceful({ signals: [] }),
  express.expressGraceful({ preStopDelayMs: 1000 }),
  koa.koaGraceful({ preStopDelayMs: 1000 }),
  hono.honoGraceful({ preStopDelayMs: 1000 })
]

// The request-listener shape in the CommonJS declarations.
const listened = express.expressGraceful()
export const server: http.Server = listened.attach(http.createServer(listened.requestListener((req: http.IncomingMessage, res: http.ServerResponse) => { res.end(req.url) })))
export const honoServer: http.Server = hono.honoGraceful().createServer((req, res) => { res.end(req.url) })
