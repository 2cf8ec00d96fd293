/**
 * A small EventSource-like client on node:http, used by the demo: it reads a server-sent-event
 * stream, honours `retry:`, and when the stream ends it waits that long and reconnects, sending
 * `Last-Event-ID`, to whichever instance its `target` names (the load balancer's choice).
 * Every connection is kept as a record, so the demo can show how each one ended.
 * @module
 */

import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'

/** EventSource's usual reconnection delay until the server sends `retry:`. */
const DEFAULT_RETRY_MS = 3000

/**
 * @typedef {{
 *   url: string,
 *   sentLastEventId: string | null,
 *   firstId: string | null,
 *   lastId: string | null,
 *   events: number,
 *   retryMs: number | null,
 *   openedAt: number,
 *   endedAt: number | null,
 *   end: 'clean' | 'closed by client' | string | null
 * }} Connection one connection: `end` is 'clean' (the server ended the response), 'closed by client', or the error
 */

export class EventStreamClient {
  /**
   * @param {{ target: (signal: AbortSignal) => Promise<string>, path?: string, onConnection?: (c: Connection) => void, onEnd?: (c: Connection) => void }} options
   *   `target` resolves with the base URL to connect to; `onConnection`/`onEnd` report each connection
   */
  constructor ({ target, path = '/events', onConnection, onEnd }) {
    this.target = target
    this.path = path
    this.onConnection = onConnection
    this.onEnd = onEnd
    /** @type {string | null} */
    this.lastEventId = null
    this.retryMs = DEFAULT_RETRY_MS
    /** @type {Connection[]} */
    this.connections = []
  }

  /** The connection open now or the last one. */
  get current () {
    return this.connections.at(-1)
  }

  /**
   * Connects, and reconnects after every end, until `signal` aborts.
   * @param {AbortSignal} signal
   */
  async run (signal) {
    while (!signal.aborted) {
      let url
      try {
        url = await this.target(signal)
      } catch {
        return // aborted while waiting for an instance
      }
      await this.#connect(url, signal)
      await sleep(this.retryMs, undefined, { signal }).catch(() => {})
    }
  }

  /**
   * One connection, until it ends.
   * @param {string} url @param {AbortSignal} signal
   * @returns {Promise<void>}
   */
  #connect (url, signal) {
    /** @type {Connection} */
    const connection = {
      url,
      sentLastEventId: this.lastEventId,
      firstId: null,
      lastId: null,
      events: 0,
      retryMs: null,
      openedAt: Date.now(),
      endedAt: null,
      end: null
    }
    this.connections.push(connection)
    return new Promise(resolve => {
      const finish = (/** @type {string} */ end) => {
        if (connection.end !== null) return
        connection.end = end
        connection.endedAt = Date.now()
        this.onEnd?.(connection)
        resolve()
      }
      /** @type {Record<string, string>} */
      const headers = { accept: 'text/event-stream' }
      if (this.lastEventId !== null) headers['last-event-id'] = this.lastEventId
      // A connection of its own (no agent): the stream never frees it for other requests.
      const req = http.get(new URL(this.path, url), { headers, agent: false, signal })
      req.once('error', err => finish(signal.aborted ? 'closed by client' : /** @type {{ code?: string }} */ (err).code ?? err.message))
      req.once('response', res => {
        const type = String(res.headers['content-type'] ?? '')
        if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
          res.resume()
          finish(`HTTP ${res.statusCode} ${type}`)
          return
        }
        this.onConnection?.(connection)
        res.setEncoding('utf8')
        let buffer = ''
        /** @type {string | null} */
        let data = null
        res.on('data', (/** @type {string} */ chunk) => {
          buffer += chunk
          const lines = buffer.split(/\r\n|\r|\n/)
          buffer = lines.pop() ?? '' // an incomplete last line waits for the next chunk
          for (const line of lines) {
            if (line === '') { // a blank line dispatches the event
              if (data !== null) {
                connection.events++
                connection.firstId ??= this.lastEventId
                connection.lastId = this.lastEventId
              }
              data = null
              continue
            }
            const colon = line.indexOf(':')
            if (colon === 0) continue // a comment
            const field = colon === -1 ? line : line.slice(0, colon)
            const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
            if (field === 'data') data = data === null ? value : `${data}\n${value}`
            else if (field === 'id') this.lastEventId = value
            else if (field === 'retry' && /^\d+$/.test(value)) {
              this.retryMs = Number(value)
              connection.retryMs = this.retryMs
            }
          }
        })
        res.once('end', () => finish('clean'))
        res.once('error', err => finish(signal.aborted ? 'closed by client' : /** @type {{ code?: string }} */ (err).code ?? err.message))
        // Closed before the response was complete: a reset, or this client's own abort.
        res.once('close', () => finish(signal.aborted ? 'closed by client' : 'connection lost before the end of the response'))
      })
    })
  }
}
