/** Shared helpers of the fastify-graceful tests: an app on 127.0.0.1:0 and an undici client closed in teardown. */
import Fastify, { type FastifyInstance } from 'fastify'
import { Agent, Client, type Dispatcher, request } from 'undici'
import type { Test } from 'tap'
import { fastifyGraceful, type FastifyGracefulOptions } from '../src/index.js'

/** Options every test needs: no process signals, no exit, no logs. */
export const TEST_OPTIONS = { signals: [], exit: false, logger: false } satisfies FastifyGracefulOptions

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface Running {
  app: FastifyInstance
  get: (path: string, method?: 'GET' | 'HEAD', dispatcher?: Dispatcher) => Promise<Answer>
  /** A client with one connection of its own, destroyed in teardown. */
  connection: () => Client
}

/** fastify's own close behaviour set as the README recommends: graceful decides what is 503'd and when sockets end. */
export const FASTIFY_OPTIONS = { return503OnClosing: false, forceCloseConnections: false } as const

/** Builds an app with the plugin and a `/work` route, listens, and closes everything in teardown. */
export async function start (t: Test, options: FastifyGracefulOptions = {}, setup?: (app: FastifyInstance) => void | Promise<void>): Promise<Running> {
  const app = Fastify(FASTIFY_OPTIONS)
  t.teardown(async () => {
    await app.close()
  })
  await app.register(fastifyGraceful, { ...TEST_OPTIONS, ...options })
  app.get('/work', async () => ({ work: 'done' }))
  await setup?.(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  const agent = new Agent()
  t.teardown(() => agent.destroy())
  const get = async (path: string, method: 'GET' | 'HEAD' = 'GET', dispatcher: Dispatcher = agent): Promise<Answer> => {
    const res = await request(`http://127.0.0.1:${address.port}${path}`, { method, dispatcher })
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() }
  }
  const connection = (): Client => {
    const client = new Client(`http://127.0.0.1:${address.port}`)
    t.teardown(() => client.destroy())
    return client
  }
  return { app, get, connection }
}
