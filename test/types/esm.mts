// What an ES module application writes with each door; types.test.ts type-checks it alone and in
// one program with cjs.cts. The @ts-expect-error lines prove the declarations were found and are strict.
// (nestjs-graceful: pack.test.ts type-checks it under four module settings, readme.test.ts in a Nest project.)
import http from 'node:http'
import { serve } from '@hono/node-server'
import Fastify from 'fastify'
import fastifyGraceful, { fastifyGraceful as named, type FastifyGracefulOptions } from 'fastify-graceful'
import { createGraceful, type Graceful } from 'graceful-core'
import { expressGraceful } from 'express-graceful'
import koaGraceful from 'koa-graceful'
import { honoGraceful } from 'hono-graceful'

const options: FastifyGracefulOptions = { preStopDelayMs: 1000 }
const app = Fastify()
app.register(fastifyGraceful, options)
app.register(named)
export const fromFastify: Graceful = app.graceful
app.graceful.onPersist('state', async (signal: AbortSignal) => { signal.throwIfAborted() })
// @ts-expect-error the coordinator has no such method
app.graceful.stopEverything()

export const all: Graceful[] = [
  createGraceful({ signals: [] }),
  expressGraceful({ preStopDelayMs: 1000 }),
  koaGraceful({ preStopDelayMs: 1000 }),
  honoGraceful({ preStopDelayMs: 1000 })
]

// Bun.serve() / Deno.serve(): the wrapped handler keeps the handler's type; their servers are accepted by shape.
const onBun = honoGraceful()
const handler = onBun.fetchHandler((request: Request, server: { requestIP (r: Request): unknown }) => new Response(request.url + String(server)))
export const wrapped: (request: Request, server: { requestIP (r: Request): unknown }) => Response = handler
onBun.addServer({ stop: async (closeActiveConnections?: boolean) => { void closeActiveConnections } })
onBun.addServer({ shutdown: async () => {}, finished: Promise.resolve(), unref () {} })
onBun.fetchHandler((request: Request, server: { upgrade (r: Request): boolean }) => { if (!server.upgrade(request)) return new Response('no upgrade') })
// @ts-expect-error a fetch handler is a function
onBun.fetchHandler({ fetch: () => new Response() })

// The request-listener shape: node:http's listener in, node:http's listener out; hono's createServer is node:http's.
const listened = expressGraceful()
export const server: http.Server = listened.attach(http.createServer(listened.requestListener((req: http.IncomingMessage, res: http.ServerResponse) => { res.end(req.url) })))
// @ts-expect-error a request listener is a function (Koa's is app.callback())
listened.requestListener({ callback: () => () => {} })
const onNode = honoGraceful()
onNode.attach(serve({ fetch: () => new Response('hello'), createServer: onNode.createServer }))
