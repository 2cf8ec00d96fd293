import type http from 'node:http'
import type { Http2ServerResponse } from 'node:http2'

type Response = http.ServerResponse | Http2ServerResponse

/**
 * The `retry:` hint an ended event stream gets: an EventSource waits this long before it reconnects
 * (with `Last-Event-ID`, through the load balancer, to another instance). Random within the range
 * so that all clients of this instance do not come back in the same instant.
 */
const RETRY_MIN_MS = 500
const RETRY_JITTER_MS = 1000

const EVENT_STREAM = /^content-type:[ \t]*text\/event-stream/im

/** True for a server-sent-events response whose headers have been sent. */
export function isEventStream (res: Response): boolean {
  if (!res.headersSent) return false
  const type = res.getHeader('content-type')
  if (typeof type === 'string') return type.toLowerCase().startsWith('text/event-stream')
  // node:http's writeHead(status, headers) writes the headers without keeping them for getHeader();
  // they are still in the header block it sent.
  const head = (res as { _header?: unknown })._header
  return typeof head === 'string' && EVENT_STREAM.test(head)
}

/**
 * Ends an event stream cleanly: a `retry:` line (with jitter) and a blank line, then the end of the
 * response, which an EventSource takes as "reconnect after retry ms". False when it had ended already.
 */
export function endEventStream (res: Response): boolean {
  if (res.writableEnded || res.destroyed) return false
  const retryMs = RETRY_MIN_MS + Math.floor(Math.random() * RETRY_JITTER_MS)
  ;(res as http.ServerResponse).end(`retry: ${retryMs}\n\n`)
  return true
}

/**
 * Calls `onEventStream` once the response's headers go out, if they say text/event-stream. Used
 * only for responses that start while the drain runs (never on the hot path); the call is deferred
 * so the write that sent the headers completes first.
 */
export function whenEventStream (res: Response, onEventStream: (res: Response) => void): void {
  const writeHead = res.writeHead as (...args: unknown[]) => unknown
  ;(res as { writeHead: (...args: unknown[]) => unknown }).writeHead = function (this: Response, ...args: unknown[]) {
    const result = writeHead.apply(this, args)
    // writeHead may only have stored the headers (setHeader-style); check once they are sent.
    setImmediate(() => { if (isEventStream(res)) onEventStream(res) })
    return result
  }
}

/** Ends `res` now if it is an event stream, or once its headers say it is one; `onEnded` hears of each stream ended. */
export function endIfEventStream (res: Response, onEnded: () => void): void {
  if (!res.headersSent) whenEventStream(res, (stream) => { endIfEventStream(stream, onEnded) })
  else if (isEventStream(res) && endEventStream(res)) onEnded()
}
