// What an ES module application writes with each door; types.test.ts type-checks it alone and in
// one program with cjs.cts. The @ts-expect-error lines prove the declarations were found and are strict.
// (nestjs-graceful: pack.test.ts type-checks it under four module settings, readme.test.ts in a Nest project.)
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
