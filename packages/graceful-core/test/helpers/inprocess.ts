/** Helpers for in-process tests: a recording logger, deferred promises, timing. */
import http from 'node:http'
import type { Test } from 'tap'
import type { Logger, State } from '../../src/index.js'

export interface LogEntry {
  level: 'info' | 'warn' | 'error'
  obj: Record<string, unknown>
  msg: string | undefined
}

export interface RecordingLogger extends Logger {
  entries: LogEntry[]
}

export function recordingLogger (): RecordingLogger {
  const entries: LogEntry[] = []
  const at = (level: LogEntry['level']) => (obj: object, msg?: string): void => {
    entries.push({ level, obj: obj as Record<string, unknown>, msg })
  }
  return { entries, info: at('info'), warn: at('warn'), error: at('error') }
}

/** In-process defaults: no process signal handlers, no exit, a recording logger. */
export function quiet (logger: RecordingLogger = recordingLogger()) {
  return { signals: [] as NodeJS.Signals[], exit: false as const, logger }
}

export function deferred<T = void> (): { promise: Promise<T>, resolve: (v: T) => void, reject: (e: unknown) => void } {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

export const delay = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** Blocks the event loop synchronously. */
export function blockFor (ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) { /* busy */ }
}

/** Rejects when `promise` has not settled within `ms`, so a hang fails the test instead of stalling it. */
export async function within<T> (promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms) })
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Resolves once `signal` is aborted (at once when it already is). */
export async function untilAborted (signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
}

/** Resolves once `exit` was called (recorded in `exits`): the exit follows the report after the logger and telemetry flushed. */
export async function exitCalled (exits: readonly number[], ms = 5000): Promise<void> {
  await within((async () => { while (exits.length === 0) await delay(5) })(), ms, 'the exit')
}

/** The next state the coordinator moves to. */
export async function nextState (graceful: { once: (event: 'state', listener: (state: State) => void) => unknown }): Promise<State> {
  return await new Promise((resolve) => { graceful.once('state', resolve) })
}

/** A node:http server answering 'ok' on 127.0.0.1, closed in the test's teardown. */
export async function listening (t: Test): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return server
}
