/**
 * express-graceful: the graceful coordinator as express middleware. `app.use(graceful.middleware)`
 * adds the `/health` and `/ready` probe routes and the draining behaviour; `graceful.attach(server)`
 * hands over the server (otherwise it is found from the first request). With no per-request
 * middleware: `graceful.attach(http.createServer(graceful.requestListener(app)).listen(port))`, the
 * probes answered before express.
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Graceful, GracefulOptions } from 'graceful-core'
import { listenerBehind, loggerOf, middlewareDoor, type MiddlewareGraceful } from 'graceful-core/door'

export type ExpressGracefulOptions = GracefulOptions

/** A connect-style middleware: works with express 4 and 5 (and any framework using that shape). */
export type GracefulMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void

/** The coordinator with its express middleware and `attach(server)`. */
export type ExpressGraceful = MiddlewareGraceful<GracefulMiddleware>

/** Creates the coordinator with its middleware. Options are validated here, before any server starts. */
export function expressGraceful (options: ExpressGracefulOptions = {}): ExpressGraceful {
  let routesChecked = false

  /** The application's own probe routes would never be reached (the middleware comes first): say so once. */
  function warnOfShadowedRoutes (graceful: Graceful, app: unknown): void {
    if (routesChecked || typeof app !== 'function') return
    routesChecked = true
    const { health, ready } = graceful.probeRoutes
    for (const path of routePaths(app)) {
      if (path !== health && path !== ready) continue
      loggerOf(graceful).warn({ path },
        `express-graceful answers GET ${path} itself, so the application's own ${path} route is never reached; ` +
        `set ${path === health ? 'healthPath' : 'readyPath'} to another path, or to false to serve your own`)
    }
  }

  const graceful: ExpressGraceful = middlewareDoor(options, (graceful, adopt) => function middleware (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    if (!routesChecked) warnOfShadowedRoutes(graceful, (req as { app?: unknown }).app)
    // Without attach(), the server is found from the first request.
    adopt(req, res)
    if (!graceful.handleProbe(req, res)) next()
  }, (server) => {
    // The server's request listener is the express app, or requestListener(app): its routes are registered by now.
    warnOfShadowedRoutes(graceful, listenerBehind((server as Server).listeners('request').at(-1)))
  })
  return graceful
}

/** The paths of an express 4 (`app._router`) or 5 (`app.router`) application's routes. */
function routePaths (app: unknown): string[] {
  const stack = routerOf(app as ExpressLike)?.stack ?? []
  return stack.flatMap((layer) => (typeof layer.route?.path === 'string' ? [layer.route.path] : []))
}

interface RouterLike { stack?: Array<{ route?: { path?: unknown } }> }
interface ExpressLike { readonly router?: RouterLike, readonly _router?: RouterLike }

function routerOf (app: ExpressLike): RouterLike | undefined {
  if (app._router) return app._router
  try {
    return app.router
  } catch {
    // express 4's app.router getter throws (removed in 4.0); its router, if any, is app._router.
    return undefined
  }
}

export default expressGraceful
