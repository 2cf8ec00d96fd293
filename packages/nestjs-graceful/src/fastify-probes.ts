import type { Graceful, ProbeKind } from 'graceful-core'

/** What the probes need of the fastify platform's instance (`adapter.getInstance()`). */
export interface FastifyLike {
  hasRoute (route: { method: string, url: string }): boolean
  get (path: string, options: { logLevel: string }, handler: (request: unknown, reply: FastifyReplyLike) => Promise<unknown>): unknown
}
interface FastifyReplyLike {
  code (statusCode: number): FastifyReplyLike
  headers (values: Record<string, string>): FastifyReplyLike
  send (payload: unknown): FastifyReplyLike
}

/**
 * The probes as fastify routes, as fastify-graceful adds them: no per-request work for the other
 * routes (a middleware would put every request through middie). Added once Nest's own routes are:
 * a route of the application's own on a probe path is said at once, naming the option.
 */
export function addFastifyProbes (graceful: Graceful, fastify: FastifyLike): void {
  for (const [kind, path] of Object.entries(graceful.probeRoutes) as Array<[ProbeKind, string | false]>) {
    if (path === false) continue
    if (fastify.hasRoute({ method: 'GET', url: path })) {
      throw new Error(`nestjs-graceful: GET ${path} is a route of the application's own, where graceful answers the ${kind === 'health' ? 'liveness' : 'readiness'} probe; ` +
        `set ${kind === 'health' ? 'healthPath' : 'readyPath'} in GracefulModule.forRoot() to another path, or to false to serve your own`)
    }
    // GET routes answer HEAD too (exposeHeadRoutes); fastify ignores the query string when routing.
    fastify.get(path, { logLevel: 'warn' }, async function probe (_request, reply) {
      const answer = await graceful.probe(kind)
      return reply.code(answer.statusCode).headers(answer.headers).send(answer.body)
    })
  }
}
