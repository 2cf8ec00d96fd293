import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Probes } from './probes.js'

/** A node:http request listener: an express app, Koa's `app.callback()`, any `(req, res) => void`. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => unknown

/**
 * The application's listener behind each wrapper: a door that inspects the application once the
 * server is handed over (express warns of its own routes on a probe path) finds it through the
 * server's request listener, whichever shape the application chose.
 */
const applications = new WeakMap<object, RequestListener>()

/**
 * The probes answered before `listener`, which gets every other request untouched, called as
 * node:http calls a request listener (`this` is the server). One path check per request, and the
 * first request of each server goes to `adopt` (the server is found there if it was not added):
 * the drain, the in-flight count and `Connection: close` belong to the server, so nothing here
 * counts a request.
 */
export function probesFirst (probes: Probes, listener: RequestListener, adopt: RequestListener): (req: IncomingMessage, res: ServerResponse) => void {
  let lastServer: unknown
  const wrapper = function gracefulRequestListener (this: unknown, req: IncomingMessage, res: ServerResponse): void {
    if (this !== lastServer) {
      lastServer = this
      adopt(req, res)
    }
    if (!probes.handle(req, res)) listener.call(this, req, res)
  }
  applications.set(wrapper, listener)
  return wrapper
}

/** The listener a `requestListener()` wrapper hands requests to, or `listener` itself when it is no wrapper. */
export function listenerBehind (listener: unknown): unknown {
  return typeof listener === 'function' ? applications.get(listener) ?? listener : listener
}
