import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Graceful } from 'graceful-core'

type ProbeResponse = Parameters<Graceful['handleProbe']>[1]
type ExpressRequest = IncomingMessage & { originalUrl?: string }

/** What the probes need of the express platform's adapter. */
export interface ExpressAdapterLike {
  getInstance (): unknown
  use (middleware: (req: ExpressRequest, res: ProbeResponse, next: () => void) => void): unknown
}

/**
 * The probes on the express platform, answered before Nest's express app in the server's request
 * listener (graceful.requestListener()): Nest's own routes go through no middleware of graceful's,
 * which in express costs what any first middleware does. Where the server does not call the express
 * app itself (an application that made its own server around it), a middleware ahead of Nest's
 * own answers them.
 */
export function addExpressProbes (graceful: Graceful, server: Server, adapter: ExpressAdapterLike): void {
  const app = adapter.getInstance()
  if (typeof app === 'function' && server.listeners('request').includes(app)) {
    const listener = app as (req: IncomingMessage, res: ServerResponse) => void
    server.removeListener('request', listener)
    server.on('request', graceful.requestListener(listener))
    return
  }
  // express strips a mount path from url; originalUrl keeps it.
  adapter.use((req, res, next) => {
    if (!graceful.handleProbe({ method: req.method, url: req.originalUrl ?? req.url }, res)) next()
  })
}
