/**
 * hono-graceful: the graceful coordinator as Hono middleware for @hono/node-server.
 * `app.use(graceful.middleware)` adds the `/health` and `/ready` probe routes and the draining
 * behaviour; `graceful.attach(serve(...))` hands over the server (otherwise it is found from the
 * first request, through the node request @hono/node-server passes as `c.env.incoming`). With no
 * per-request middleware: `graceful.attach(serve({ fetch: app.fetch, createServer: graceful.createServer }))`,
 * the probes answered before Hono.
 * On Bun.serve() and Deno.serve(): `fetch: graceful.fetchHandler(app.fetch)` and
 * `graceful.addServer(server)`, no middleware.
 * @module
 */
import { createServer as createNodeServer, type IncomingMessage, type RequestListener, type ServerOptions, type ServerResponse } from 'node:http'
import type { Context, MiddlewareHandler } from 'hono'
import type { GracefulOptions, ProbeKind } from 'graceful-core'
import { middlewareDoor, type MiddlewareGraceful } from 'graceful-core/door'

export type HonoGracefulOptions = GracefulOptions

/** What @hono/node-server puts in `c.env` (its `HttpBindings`). */
export interface NodeBindings {
  incoming: IncomingMessage
  outgoing: ServerResponse
}

/** The coordinator with its Hono middleware, `attach(server)` and `createServer`. */
export interface HonoGraceful extends MiddlewareGraceful<MiddlewareHandler<{ Bindings: NodeBindings }>> {
  /**
   * node:http's `createServer`, its request listener wrapped in `requestListener()`: for
   * @hono/node-server's `serve({ fetch: app.fetch, createServer: graceful.createServer })`, which
   * answers the probes before Hono, with no middleware. Then `graceful.attach(server)`.
   */
  readonly createServer: typeof createNodeServer
}

/** Creates the coordinator with its middleware. Options are validated here, before any server starts. */
export function honoGraceful (options: HonoGracefulOptions = {}): HonoGraceful {
  const graceful = middlewareDoor(options, (graceful, adopt): MiddlewareHandler<{ Bindings: NodeBindings }> => {
    async function answerProbe (c: Context, kind: ProbeKind): Promise<Response> {
      const answer = await graceful.probe(kind)
      return c.json(answer.body, answer.statusCode, answer.headers)
    }
    // Not async: every other request goes on to next() without a promise of its own.
    return function gracefulMiddleware (c, next) {
      // Without attach(), the server is found from the first request. c.env is undefined outside
      // @hono/node-server (app.request() in tests, other runtimes).
      const env = c.env as Partial<NodeBindings> | undefined
      const incoming = env?.incoming
      if (incoming !== undefined && env?.outgoing !== undefined) adopt(incoming, env.outgoing)
      // node's request when there is one: c.req would build Hono's request object for every
      // request, which a handler that does not read it never pays for. Hono routes HEAD as GET and
      // drops the body itself.
      const kind = incoming !== undefined ? graceful.probeKind(incoming.method, incoming.url) : graceful.probeKind(c.req.method, c.req.path)
      return kind === undefined ? next() : answerProbe(c, kind)
    }
  })
  function createServer (options?: ServerOptions | RequestListener, listener?: RequestListener): ReturnType<typeof createNodeServer> {
    if (typeof options === 'function') return createNodeServer(graceful.requestListener(options))
    return createNodeServer(options ?? {}, listener === undefined ? undefined : graceful.requestListener(listener))
  }
  return Object.assign(graceful, { createServer: createServer as typeof createNodeServer })
}

export default honoGraceful
