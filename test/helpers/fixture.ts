/**
 * Starts the conformance server (test/fixtures/server.mjs) for one adapter as a real child process,
 * reads its stdout as JSON lines (the coordinator's log, the ShutdownReport, the fixture's markers)
 * and kills it in the test's teardown, whatever happened.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import type { ShutdownReport } from 'graceful-core'
import { type RuntimeName, runtimeCommand } from '../../scripts/runtimes.mjs'

/** What the suite needs to know about an adapter: its name, its app factory module, the runtime it runs on. */
export interface Adapter {
  readonly name: string
  /** An app factory module (see test/fixtures/server.mjs for its shape). */
  readonly app: URL
  /** The runtime the server runs on (scripts/runtimes.mjs, installed by the test beforehand); this Node by default. */
  readonly runtime?: RuntimeName
}

export interface HookSpec {
  phase: 'cleanup' | 'persist'
  name: string
  /** How long the hook works, in ms. */
  ms?: number
  /** Instead of `ms`: the hook works until the process receives this signal (see Fixture.kill). */
  until?: NodeJS.Signals
}

export interface FixtureOptions {
  /** The adapter's options (graceful-core options plus probe paths). */
  graceful?: Record<string, unknown>
  keepAliveTimeoutMs?: number
  hooks?: HookSpec[]
  /** Answer 'upgrade' requests with a 101 and keep the socket. */
  upgrade?: boolean
  /** Serve an echo WebSocket on /ws (registered with addWebSocketServer) next to the /events stream. */
  longLived?: boolean
  /** Print a marker line per request and response (default true; off under load). */
  markRequests?: boolean
  /** On this signal the process closes the app by code (the factory's close(), or shutdown()). */
  closeOn?: NodeJS.Signals
  /** A startup task 'warm-up' that resolves after this long. */
  startupMs?: number
  /** A readiness check 'dependency' (cacheMs 0), up until GET /dependency?up=0. */
  check?: { critical?: boolean }
}

/** One stdout line: parsed JSON (or `{ raw }`), with the moment it arrived on the test's clock. */
export type Line = Record<string, unknown> & { readonly receivedAt: number, readonly index: number }

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  /** performance.now() in the test process when the child exited. */
  at: number
}

export interface Fixture {
  readonly port: number
  readonly origin: string
  readonly lines: readonly Line[]
  readonly stderr: () => string
  /** Resolves when the child has exited. */
  readonly exited: Promise<Exit>
  /** Sends a signal; returns performance.now() at the moment it was sent. */
  kill: (signal?: NodeJS.Signals) => number
  /** The first line (from index `from`) matching `match`; rejects after `timeoutMs` (a hang guard). */
  waitFor: (match: (line: Line) => boolean, what: string, timeoutMs?: number, from?: number) => Promise<Line>
  /** A marker line of the fixture (`{"fixture": name, ...}`). */
  waitForMarker: (name: string, fields?: Record<string, unknown>, timeoutMs?: number) => Promise<Line>
  /** The exit, or a rejection after `timeoutMs` (a hang guard). */
  waitForExit: (timeoutMs: number) => Promise<Exit>
  /** The ShutdownReport of the last log line carrying one. */
  report: () => ShutdownReport | undefined
  /** Marker lines of the fixture, in stdout order. */
  markers: () => Line[]
}

const SERVER = fileURLToPath(new URL('../fixtures/server.mjs', import.meta.url))
/** Hang guard for a fixture to start (node + framework import on a loaded 2-core CI machine). */
const START_TIMEOUT_MS = 60_000

/** Rejects with a clear message when `promise` does not settle in `ms` (hang guards only). */
export async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const guard = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`hang guard: ${what} did not happen within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, guard])
  } finally {
    clearTimeout(timer)
  }
}

export async function startFixture (t: Test, adapter: Adapter, options: FixtureOptions = {}): Promise<Fixture> {
  const serverArgs = [fileURLToPath(adapter.app), JSON.stringify(options)]
  const { command, args } = adapter.runtime === undefined
    ? { command: process.execPath, args: [SERVER, ...serverArgs] }
    : runtimeCommand(adapter.runtime, SERVER, serverArgs)
  const child = spawn(command, args, {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, KUBERNETES_SERVICE_HOST: '', TERMINATION_GRACE_PERIOD_SECONDS: '' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let exitInfo: Exit | undefined
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal, at: performance.now() }
      resolve(exitInfo)
    })
  })
  t.teardown(async () => {
    if (exitInfo === undefined) {
      child.kill('SIGKILL')
      await exited
    }
  })

  const lines: Line[] = []
  const waiters = new Set<() => void>()
  let pending = ''
  let stderr = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    pending += chunk
    let newline: number
    while ((newline = pending.indexOf('\n')) !== -1) {
      const text = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      if (text.trim() === '') continue
      let parsed: Record<string, unknown>
      try {
        const value: unknown = JSON.parse(text)
        parsed = typeof value === 'object' && value !== null ? value as Record<string, unknown> : { raw: text }
      } catch {
        parsed = { raw: text }
      }
      lines.push({ ...parsed, receivedAt: performance.now(), index: lines.length })
    }
    for (const waiter of [...waiters]) waiter()
  })
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => { stderr += chunk })
  // The child's stdout may end after 'exit': wake waiters then too, so they fail fast.
  child.once('close', () => { for (const waiter of [...waiters]) waiter() })

  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))

  function waitFor (match: (line: Line) => boolean, what: string, timeoutMs = 10_000, from = 0): Promise<Line> {
    return new Promise<Line>((resolve, reject) => {
      const check = (): void => {
        const found = lines.slice(from).find(match)
        if (found) {
          finish()
          resolve(found)
        } else if (child.stdout.readableEnded) {
          finish()
          reject(new Error(`${adapter.name} fixture ended its output without ${what}; stderr: ${stderr.slice(-2000)}`))
        }
      }
      const timer = setTimeout(() => {
        finish()
        reject(new Error(`hang guard: ${adapter.name} fixture printed no ${what} within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`))
      }, timeoutMs)
      const finish = (): void => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  }

  const markerMatch = (name: string, fields: Record<string, unknown>) => (line: Line): boolean =>
    line.fixture === name && Object.entries(fields).every(([key, value]) => line[key] === value)

  const listening = await waitFor(markerMatch('listening', {}), 'listening marker', START_TIMEOUT_MS)
  const port = listening.port as number

  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    lines,
    stderr: () => stderr,
    exited,
    kill (signal: NodeJS.Signals = 'SIGTERM') {
      const at = performance.now()
      child.kill(signal)
      return at
    },
    waitFor,
    waitForMarker: (name, fields = {}, timeoutMs = 10_000) =>
      waitFor(markerMatch(name, fields), `marker ${JSON.stringify({ fixture: name, ...fields })}`, timeoutMs),
    async waitForExit (timeoutMs) {
      const exit = await within(exited, timeoutMs, `${adapter.name} fixture exit`)
      // Every line written before exit is read once the pipe closes.
      await within(closed, 5_000, `${adapter.name} fixture stdout close`)
      return exit
    },
    report () {
      for (let i = lines.length - 1; i >= 0; i--) {
        const report = lines[i]?.report
        if (typeof report === 'object' && report !== null) return report as ShutdownReport
      }
      return undefined
    },
    markers: () => lines.filter((line) => typeof line.fixture === 'string')
  }
}
