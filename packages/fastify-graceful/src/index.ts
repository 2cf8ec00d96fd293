/**
 * fastify-graceful: the graceful coordinator as a fastify plugin. Decorates `app.graceful`, adds
 * the `/health` and `/ready` probe routes, drains `app.server`, and makes a signal and
 * `app.close()` run the same pipeline.
 * @module
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { createGraceful, type Graceful, type GracefulOptions, type Logger, type ProbeKind } from 'graceful-core'
import { bridgeFrameworkClose } from 'graceful-core/door'

export type FastifyGracefulOptions = GracefulOptions

declare module 'fastify' {
  interface FastifyInstance {
    /** The shutdown coordinator (graceful-core). */
    graceful: Graceful
  }
}

/**
 * Shutdown concerns the whole server, so the decorator and the probe routes belong to the root
 * instance even when the plugin is registered inside an encapsulated context (a fastify-cli app).
 * fastify makes each context with Object.create(parent), so the root is the end of that chain.
 */
function rootOf (app: FastifyInstance): FastifyInstance {
  let root = app
  for (let parent = Object.getPrototypeOf(root); parent !== null && parent.server === app.server && typeof parent.decorate === 'function'; parent = Object.getPrototypeOf(parent)) {
    root = parent
  }
  return root
}

const plugin: FastifyPluginAsync<FastifyGracefulOptions> = async function fastifyGraceful (registeredOn: FastifyInstance, options) {
  const app = rootOf(registeredOn)
  if (app.hasDecorator('graceful')) throw new Error('fastify-graceful is already registered on this server; register it once')
  if (app.initialConfig.forceCloseConnections === true) {
    // Warned, not changed: it is fastify's own server option, fixed at creation.
    app.log.warn('fastify-graceful: forceCloseConnections: true makes app.close() destroy in-flight requests; create fastify with forceCloseConnections: false and let graceful end connections')
  }
  const logger = loggerOf(app)
  const graceful = createGraceful({ ...(logger === undefined ? {} : { logger }), ...options })
  graceful.addServer(app.server)
  app.decorate('graceful', graceful)

  for (const [kind, path] of Object.entries(graceful.probeRoutes) as Array<[ProbeKind, string | false]>) {
    if (path === false) continue
    // GET routes answer HEAD too (exposeHeadRoutes); fastify ignores the query string when routing.
    app.get(path, { logLevel: 'warn' }, async function probe (_request, reply) {
      const answer = await graceful.probe(kind)
      return reply.code(answer.statusCode).headers(answer.headers).send(answer.body)
    })
  }

  // fastify's own close (its onClose hooks: pools, clients) runs after persistence, as the last
  // cleanup; app.close() called by the application runs the whole pipeline first (preClose). A run
  // started by code never exits the process, so close() resolves and the caller goes on.
  const bridge = bridgeFrameworkClose(graceful, 'fastify', async () => { await app.close() })
  app.addHook('preClose', async function gracefulPreClose () {
    await bridge.insideFrameworkClose('app.close()')
  })
}

/**
 * fastify's logger, unless it is disabled (fastify's default, and NestJS's fastify platform): then
 * graceful's own JSON lines on stdout, so the shutdown summary and forced-exit errors are never lost.
 * fastify's disabled logger is a no-op object without a level whose child() is itself; pino always
 * has a level.
 */
function loggerOf (app: FastifyInstance): Logger | undefined {
  const log = app.log as FastifyInstance['log'] & { level?: unknown }
  const disabled = (log.level === undefined && log.child({}) === log) || log.level === 'silent'
  return disabled ? undefined : log as Logger
}

/** The fastify plugin; `await app.register(fastifyGraceful, options)`. */
export const fastifyGraceful = fp(plugin, { name: 'fastify-graceful', fastify: '5.x' })
export default fastifyGraceful
