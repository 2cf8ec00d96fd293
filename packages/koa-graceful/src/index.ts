/**
 * koa-graceful: the graceful coordinator as Koa middleware. `app.use(graceful.middleware)` adds the
 * `/health` and `/ready` probe routes and the draining behaviour; `graceful.attach(server)` hands
 * over the server (otherwise it is found from the first request). With no per-request middleware:
 * `graceful.attach(http.createServer(graceful.requestListener(app.callback())).listen(port))`, the
 * probes answered before Koa.
 * @module
 */
import type { Context, Next } from 'koa'
import type { GracefulOptions, ProbeKind } from 'graceful-core'
import { middlewareDoor, type MiddlewareGraceful } from 'graceful-core/door'

export type KoaGracefulOptions = GracefulOptions

/** Koa middleware: `(ctx, next) => Promise<void>`. */
export type KoaGracefulMiddleware = (ctx: Context, next: Next) => Promise<void>

/** The coordinator with its Koa middleware and `attach(server)`. */
export type KoaGraceful = MiddlewareGraceful<KoaGracefulMiddleware>

/** Creates the coordinator with its middleware. Options are validated here, before any server starts. */
export function koaGraceful (options: KoaGracefulOptions = {}): KoaGraceful {
  return middlewareDoor(options, (graceful, adopt) => {
    // Answered through Koa's own response, so the application's outer middleware (logging,
    // metrics) sees probes like any route; Koa leaves the body out for HEAD.
    async function answerProbe (ctx: Context, kind: ProbeKind): Promise<void> {
      const answer = await graceful.probe(kind)
      ctx.status = answer.statusCode
      ctx.body = answer.body
      ctx.set(answer.headers)
    }
    // Not async: every other request goes on to next() without a promise of its own (koa-compose
    // turns a synchronous throw into a rejection).
    return function middleware (ctx: Context, next: Next): Promise<void> {
      // Without attach(), the server is found from the first request. The method and URL are read
      // from node's request: what ctx.method and ctx.url return, without Koa's getters.
      const { req } = ctx
      adopt(req, ctx.res)
      const kind = graceful.probeKind(req.method, req.url)
      return kind === undefined ? next() : answerProbe(ctx, kind)
    }
  })
}

export default koaGraceful
