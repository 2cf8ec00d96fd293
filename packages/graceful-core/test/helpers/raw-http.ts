/**
 * Shared by the drain tests: a coordinator and a server on 127.0.0.1:0 that are cleaned up in
 * teardown, and a raw client socket that records bytes, FIN, errors and close, with a parser for
 * the HTTP/1.1 responses it received.
 */
import type { Test } from 'tap'
import type http from 'node:http'
import net from 'node:net'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { createGraceful, type GracefulOptions } from '../../src/index.js'

export const GET = (path = '/'): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`

export function coordinator (t: Test, options: GracefulOptions = {}): ReturnType<typeof createGraceful> {
  const graceful = createGraceful({ signals: [], exit: false, logger: false, ...options })
  // A test that fails half-way must not leave a pipeline (and its timers) behind.
  t.teardown(async () => { await graceful.shutdown('teardown') })
  return graceful
}

export async function listen (t: Test, server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    (server as Partial<http.Server>).closeAllConnections?.()
    server.close()
  })
  return (server.address() as AddressInfo).port
}

export interface ParsedResponse { status: number, headers: Record<string, string>, body: string }

/** Parses complete HTTP/1.1 responses (content-length or chunked) from raw bytes; `rest` is what is left. */
export function parseResponses (buf: Buffer): { responses: ParsedResponse[], rest: Buffer } {
  const responses: ParsedResponse[] = []
  let off = 0
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', off)
    if (headEnd === -1) break
    const lines = buf.subarray(off, headEnd).toString('latin1').split('\r\n')
    const status = Number((lines[0] ?? '').split(' ')[1])
    const headers: Record<string, string> = {}
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    let p = headEnd + 4
    let body = ''
    if (headers['transfer-encoding'] === 'chunked') {
      let complete = false
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', p)
        if (lineEnd === -1) break
        const size = parseInt(buf.subarray(p, lineEnd).toString('latin1'), 16)
        if (size === 0) {
          if (buf.length < lineEnd + 4) break
          p = lineEnd + 4
          complete = true
          break
        }
        if (buf.length < lineEnd + 2 + size + 2) break
        body += buf.subarray(lineEnd + 2, lineEnd + 2 + size).toString('latin1')
        p = lineEnd + 2 + size + 2
      }
      if (!complete) break
    } else {
      const length = Number(headers['content-length'] ?? 0)
      if (buf.length < p + length) break
      body = buf.subarray(p, p + length).toString('latin1')
      p += length
    }
    responses.push({ status, headers, body })
    off = p
  }
  return { responses, rest: buf.subarray(off) }
}

/** A raw client socket that records every byte, the FIN, errors and the close. */
export class Raw {
  readonly socket: net.Socket
  readonly connected: Promise<void>
  readonly closed: Promise<void>
  data = Buffer.alloc(0)
  ended = false
  endedAt = 0
  error: NodeJS.ErrnoException | undefined

  constructor (t: Test, port: number) {
    this.socket = net.connect(port, '127.0.0.1')
    this.connected = once(this.socket, 'connect').then(() => {})
    // Not events.once: it would reject on 'error' (a reset is recorded in `error`, not thrown).
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()))
    this.socket.on('data', (chunk: Buffer) => { this.data = Buffer.concat([this.data, chunk]) })
    this.socket.on('end', () => { this.ended = true; this.endedAt = performance.now() })
    this.socket.on('error', (error) => { this.error = error })
    t.teardown(() => { this.socket.destroy() })
  }

  get responses (): ParsedResponse[] {
    return parseResponses(this.data).responses
  }

  /** Waits (bounded) until `n` complete responses arrived. */
  async responsesAtLeast (n: number, timeoutMs = 5000): Promise<ParsedResponse[]> {
    const until = performance.now() + timeoutMs
    while (this.responses.length < n) {
      if (performance.now() > until) throw new Error(`timed out waiting for ${n} responses; got ${JSON.stringify(this.data.toString('latin1'))}`)
      if (this.socket.destroyed && this.socket.readableEnded) throw new Error(`socket closed after ${this.responses.length} responses: ${JSON.stringify(this.data.toString('latin1'))}`)
      await sleep(5)
    }
    return this.responses
  }

  async closedWithin (timeoutMs: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), sleep(timeoutMs, false)])
  }
}

/** `work`, or a rejection naming `what` after `ms` (a hang guard); no timer outlives it. */
export async function guarded<T> (work: Promise<T>, what: string, ms: number): Promise<T> {
  const guard = new AbortController()
  try {
    return await Promise.race([work, sleep(ms, undefined, { signal: guard.signal }).then(() => { throw new Error(`timed out waiting for ${what}`) })])
  } finally {
    guard.abort()
  }
}
