/**
 * express-graceful: the graceful coordinator as express middleware. `app.use(graceful.middleware)`
 * adds the `/health` and `/ready` probe routes and the draining behaviour; `graceful.attach(server)`
 * hands over the server (otherwise it is found from the first request).
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createGraceful, type DrainableServer, kAdoptRequest, type Graceful, type GracefulOptions } from 'graceful-core'

export type ExpressGracefulOptions = GracefulOptions

/** A connect-style middleware: works with express 4 and 5 (and any framework using that shape). */
export type GracefulMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void

export interface ExpressGraceful extends Graceful {
  /** Mount first: `app.use(graceful.middleware)`. */
  readonly middleware: GracefulMiddleware
  /** Drains this server (the return value of `app.listen()`); returns it. Sockets are tracked from here on. */
  attach<S extends DrainableServer> (server: S): S
}

/** Creates the coordinator with its middleware. Options are validated here, before any server starts. */
export function expressGraceful (options: ExpressGracefulOptions = {}): ExpressGraceful {
  const graceful = createGraceful(options)
  let attached = false

  function attach<S extends DrainableServer> (server: S): S {
    graceful.addServer(server)
    attached = true
    return server
  }

  function middleware (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    if (!attached) {
      // Found from the first request; attach() sees connections opened earlier too.
      const server = (req.socket as { server?: Server }).server
      if (server) {
        try {
          attach(server)
          graceful[kAdoptRequest](req, res)
        } catch {
          // Too late to join (the drain has begun): the request is still served below.
        }
      }
    }
    if (!graceful.handleProbe(req, res)) next()
  }

  return Object.assign(graceful, { middleware, attach }) as ExpressGraceful
}

export default expressGraceful
