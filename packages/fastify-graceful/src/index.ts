/**
 * fastify-graceful: the graceful coordinator as a fastify plugin. Decorates `app.graceful`, adds
 * the `/health` and `/ready` probe routes, drains `app.server`, and makes a signal and
 * `app.close()` run the same pipeline.
 * @module
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { createGraceful, type Graceful, type GracefulOptions, type Logger, type ProbeOptions, probeAnswer, resolveProbeOptions } from 'graceful-core'

export type FastifyGracefulOptions = GracefulOptions & ProbeOptions

declare module 'fastify' {
  interface FastifyInstance {
    /** The shutdown coordinator (graceful-core). */
    graceful: Graceful
  }
}

const plugin: FastifyPluginAsync<FastifyGracefulOptions> = async function fastifyGraceful (app: FastifyInstance, options) {
  if (app.hasDecorator('graceful')) throw new Error('fastify-graceful is already registered on this instance; register it once, at the root')
  const { healthPath, readyPath, core } = resolveProbeOptions(options)
  const graceful = createGraceful({ logger: app.log as Logger, ...core })
  graceful.addServer(app.server)
  app.decorate('graceful', graceful)

  for (const [kind, path] of [['health', healthPath], ['ready', readyPath]] as const) {
    if (path === false) continue
    // GET routes answer HEAD too (exposeHeadRoutes); fastify ignores the query string when routing.
    app.get(path, { logLevel: 'warn' }, async function probe (_request, reply) {
      const answer = probeAnswer(kind, graceful.readiness())
      return reply.code(answer.statusCode).headers(answer.headers).send(answer.body)
    })
  }

  // fastify's own close (its onClose hooks: pools, clients) runs after persistence, as the last
  // cleanup, so persist hooks can still use what the application registered with onClose.
  let closedByApp = false
  graceful.onCleanup('fastify', async () => {
    if (!closedByApp) await app.close()
  }, { afterPersist: true })

  // app.close() called by the application takes the same path: the whole pipeline runs before
  // fastify stops listening and runs its onClose hooks.
  app.addHook('preClose', async function gracefulPreClose () {
    if (graceful.state !== 'running') return
    closedByApp = true
    await graceful.shutdown('app.close()')
  })
}

/** The fastify plugin; `await app.register(fastifyGraceful, options)`. */
export const fastifyGraceful = fp(plugin, { name: 'fastify-graceful', fastify: '5.x' })
export default fastifyGraceful
