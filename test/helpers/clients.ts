/**
 * HTTP clients for the conformance suite: undici dispatchers and raw sockets, each closed in the
 * test's teardown whatever happened.
 */
import http from 'node:http'
import net from 'node:net'
import type { Test } from 'tap'
import { Agent, Client, type Dispatcher, Pool } from 'undici'
import { within } from './fixture.js'

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** `Connection` response header, lower-cased ('' when absent). */
export function connectionHeader (answer: Answer): string {
  const value = answer.headers.connection
  return (Array.isArray(value) ? value.join(',') : value ?? '').toLowerCase()
}

/** A request through `dispatcher`, body read in full. */
export async function send (dispatcher: Dispatcher, origin: string, path: string, method: 'GET' | 'HEAD' = 'GET'): Promise<Answer> {
  const res = await dispatcher.request({ origin, path, method })
  const body = await res.body.text()
  return { status: res.statusCode, headers: res.headers, body }
}

/** The error's code, with undici's socket errors spelled out ('UND_ERR_SOCKET: other side closed'). */
export function errorCode (error: unknown): string {
  const e = error as { code?: unknown, message?: unknown, cause?: { code?: unknown } }
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : 'no code'
  return code === 'ECONNREFUSED' ? code : `${code}: ${String(e?.message)}`
}

export function pool (t: Test, origin: string, options: Pool.Options = {}): Pool {
  const p = new Pool(origin, { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000, ...options })
  t.teardown(() => p.destroy())
  return p
}

export function client (t: Test, origin: string, options: Client.Options = {}): Client {
  const c = new Client(origin, { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000, ...options })
  t.teardown(() => c.destroy())
  return c
}

export function agent (t: Test): Agent {
  const a = new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 })
  t.teardown(() => a.destroy())
  return a
}

/** Resolves with the error code of a fresh TCP connect to `port` ('connected' when it connects). */
export function connectOutcome (t: Test, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    t.teardown(() => { socket.destroy() })
    socket.once('connect', () => {
      socket.destroy()
      resolve('connected')
    })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
  })
}

export interface RawSocket {
  readonly socket: net.Socket
  /** Everything received so far, as latin1 text. */
  received: () => string
  /** Resolves once the received text satisfies `match` (hang guard `timeoutMs`). */
  until: (match: (text: string) => boolean, what: string, timeoutMs?: number) => Promise<string>
  /** Resolves with performance.now() when the server ended or closed the connection. */
  readonly closed: Promise<number>
  readonly isClosed: () => boolean
}

/** A plain TCP connection to speak HTTP/1.1 by hand (to see exactly when the server closes it). */
export async function rawSocket (t: Test, port: number): Promise<RawSocket> {
  const socket = net.connect(port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  let text = ''
  let closedAt: number | undefined
  const wake = new Set<() => void>()
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => {
    text += chunk
    for (const w of [...wake]) w()
  })
  socket.on('error', () => {})
  const closed = new Promise<number>((resolve) => {
    const done = (): void => {
      closedAt ??= performance.now()
      resolve(closedAt)
      for (const w of [...wake]) w()
    }
    socket.once('end', done)
    socket.once('close', done)
  })
  await within(new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  }), 5_000, 'raw connect')
  return {
    socket,
    received: () => text,
    until (match, what, timeoutMs = 10_000) {
      return within(new Promise<string>((resolve, reject) => {
        const check = (): void => {
          if (match(text)) {
            wake.delete(check)
            resolve(text)
          } else if (closedAt !== undefined) {
            wake.delete(check)
            reject(new Error(`connection closed before ${what}; received: ${JSON.stringify(text.slice(0, 500))}`))
          }
        }
        wake.add(check)
        check()
      }), timeoutMs, what)
    },
    closed,
    isClosed: () => closedAt !== undefined
  }
}

/** What a request on a new connection came to, from the client's view. */
export type StormOutcome = 'ok' | 'status' | 'refused' | 'reset' | 'other'

export interface ConnectStorm {
  readonly counts: Record<StormOutcome, number>
  /** Error codes of 'other' outcomes, and statuses other than 200. */
  readonly others: string[]
  /** Requests answered 200 that were sent at or after `since` (performance clock). */
  okSentSince: (since: number) => number
  /** Stops the loops; resolves once every request in flight settled (a dropped SYN is retried about 1 s later). */
  stop: () => Promise<void>
}

/**
 * `clients` loops, each sending GET /hello on a new connection (no keep-alive, `Connection: close`)
 * one after the other, until stop(): the clients that reconnect per request, or a proxy without
 * upstream keep-alive. Refused connects are paced, so a closed port does not make them spin.
 */
export function connectStorm (t: Test, port: number, clients: number): ConnectStorm {
  const counts: Record<StormOutcome, number> = { ok: 0, status: 0, refused: 0, reset: 0, other: 0 }
  const others: string[] = []
  const okSentAt: number[] = []
  let stopped = false
  const one = (): Promise<void> => new Promise((resolve) => {
    const sentAt = performance.now()
    const done = (outcome: StormOutcome, detail?: string): void => {
      counts[outcome]++
      if (detail !== undefined) others.push(detail)
      if (outcome === 'ok') okSentAt.push(sentAt)
      resolve()
    }
    const req = http.request({ host: '127.0.0.1', port, path: '/hello', agent: false, headers: { connection: 'close' }, timeout: 10_000 }, (res) => {
      res.resume()
      res.once('end', () => { res.statusCode === 200 ? done('ok') : done('status', `status ${res.statusCode}`) })
      res.once('error', () => { done('reset') })
    })
    req.once('timeout', () => { req.destroy(new Error('timeout')) })
    req.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') done('refused')
      else if (error.code === 'ECONNRESET' || error.code === 'EPIPE') done('reset')
      else done('other', error.code ?? error.message)
    })
    req.end()
  })
  const loops = Array.from({ length: clients }, async () => {
    for (let i = 0; i < 100_000 && !stopped; i++) {
      const refusedBefore = counts.refused
      await one()
      if (counts.refused > refusedBefore) await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })
  const all = Promise.all(loops)
  t.teardown(() => { stopped = true })
  return {
    counts,
    others,
    okSentSince: (since) => okSentAt.filter((at) => at >= since).length,
    async stop () {
      stopped = true
      await within(all, 30_000, 'the connect storm to stop')
    }
  }
}

/** A free port on 127.0.0.1 (for a program that listens on PORT). */
export async function freePort (): Promise<number> {
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as net.AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}
