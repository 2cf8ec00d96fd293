/**
 * HTTP clients for the conformance suite: undici dispatchers and raw sockets, each closed in the
 * test's teardown whatever happened.
 */
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
