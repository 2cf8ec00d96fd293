/**
 * `graceful-core/door`: what the doors (the framework packages) ask of a coordinator beyond its
 * public API, the shape every middleware door shares, and the bridge between a framework's own close
 * and the pipeline. A door is thin glue over these. Functions of this entry, not members of the
 * coordinator, so the coordinator an application holds shows only what the README says. Not for
 * applications: it may change with any release of the doors.
 * @module
 */
import { createGraceful, type Graceful, partsOf } from './coordinator.js'
import type { DrainableServer } from './drain/node-http.js'
import type { Request, Response } from './drain/requests.js'
import { tooLate } from './errors.js'
import type { GracefulOptions, Logger } from './types.js'

export { listenerBehind } from './request-listener.js'

/** The coordinator's resolved logger (never undefined), for a door's own warnings. */
export function loggerOf (graceful: Graceful): Logger {
  return partsOf(graceful).options.logger
}

/** Holds the instance in `starting` (and the budget check, see BudgetWarnings) until the framework's setup is over; returns the release. */
export function holdStartup (graceful: Graceful): () => void {
  return partsOf(graceful).startupGate.hold()
}

/**
 * The instance no longer waits for this server to listen before it is ready; it is still drained.
 * For a server the framework made that the application may serve through servers of its own
 * instead (NestJS's `app.init()` without `app.listen()`).
 */
export function stopWaitingFor (graceful: Graceful, server: DrainableServer): void {
  partsOf(graceful).startupGate.unwatch(server)
}

/**
 * What a middleware door calls for each request: the request's server is added on its first
 * request (no `attach()` needed), and the request is tracked as the server's own.
 */
export type AdoptRequest = (req: Request, res: Response) => void

/**
 * A coordinator with a middleware and `attach(server)`: what express-, koa- and hono-graceful
 * return. Two shapes: the middleware (the simple way), or `requestListener(listener)` (from the
 * coordinator) around the application's node:http request listener, which answers the probes before
 * the application with no per-request middleware; `attach(server)` then hands the server over.
 */
export interface MiddlewareGraceful<Middleware> extends Graceful {
  /** Mount first: `app.use(graceful.middleware)`. */
  readonly middleware: Middleware
  /** Drains this server (what `listen()` or `serve()` returned) and returns it. Sockets are tracked from here on. */
  attach<S extends DrainableServer> (server: S): S
}

/**
 * Creates a coordinator with the door's middleware and `attach()`. The middleware calls `adopt` for
 * each request. `onAttach` runs after a server was added (express checks the application's routes
 * there).
 */
export function middlewareDoor<Middleware> (options: GracefulOptions, middleware: (graceful: Graceful, adopt: AdoptRequest) => Middleware, onAttach?: (server: DrainableServer) => void): MiddlewareGraceful<Middleware> {
  const graceful = createGraceful(options)
  const servers = partsOf(graceful).servers
  function attach<S extends DrainableServer> (server: S): S {
    graceful.addServer(server)
    onAttach?.(server)
    return server
  }
  const adopt: AdoptRequest = (req, res) => { servers.adopt(req, res) }
  return Object.assign(graceful, { middleware: middleware(graceful, adopt), attach })
}

/** The two ways an application's close reaches the pipeline (see bridgeFrameworkClose). */
export interface FrameworkCloseBridge {
  /**
   * The framework's own close is under way and waits for this before its teardown (fastify's
   * preClose hook): runs the pipeline, whose last cleanup then leaves the teardown to that close.
   */
  insideFrameworkClose (reason: string): Promise<void>
  /**
   * The door's close replaces the framework's (NestJS's app.close()): runs the pipeline, whose last
   * cleanup is the teardown, and resolves once the teardown is done.
   */
  close (reason: string): Promise<void>
}

/**
 * Bridges a framework's own close with the pipeline. A signal's run tears the framework down as its
 * very last cleanup, after persistence, so persist hooks can still use what the teardown releases;
 * a close the application calls runs the whole pipeline first. `teardown` (the framework's own
 * close) runs at most once.
 */
export function bridgeFrameworkClose (graceful: Graceful, name: string, teardown: () => Promise<void>): FrameworkCloseBridge {
  let tornDown: Promise<void> | undefined
  /** Our teardown is running: the framework's close hook calling back is our own close. */
  let tearingDown = false
  /** The application's own framework close is under way, waiting for the pipeline. */
  let frameworkClosing = false
  const tearDownOnce = (): Promise<void> => (tornDown ??= (async () => {
    tearingDown = true
    await teardown()
  })())
  // The very last cleanup, reserving no budget.
  const parts = partsOf(graceful)
  if (!parts.lifecycle.serving) throw tooLate(`onCleanup('${name}')`, graceful.state)
  parts.hooks.addFrameworkClose(name, async () => {
    if (!frameworkClosing) await tearDownOnce()
  })
  return {
    async insideFrameworkClose (reason) {
      if (tearingDown) return
      frameworkClosing = true
      await graceful.shutdown(reason)
    },
    async close (reason) {
      await graceful.shutdown(reason)
      // Already done when the pipeline ran it; awaited again in case it outlived its hook timeout.
      await tearDownOnce()
    }
  }
}
