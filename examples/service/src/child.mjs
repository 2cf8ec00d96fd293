/**
 * Runs the example service as a child process and reads its JSON log lines: used by the demo and
 * by the tests. The service prints one `{"event":"listening","url":…}` line once it accepts
 * connections, and graceful-core logs its shutdown report as one JSON line before exiting.
 * @module
 */

import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const ENTRIES = {
  fastify: fileURLToPath(new URL('../fastify.mjs', import.meta.url)),
  express: fileURLToPath(new URL('../express.mjs', import.meta.url))
}

/**
 * @typedef {import('graceful-core').ShutdownReport} ShutdownReport
 */

/**
 * Does this value look like a ShutdownReport?
 * @param {unknown} value
 * @returns {value is ShutdownReport}
 */
export function isShutdownReport (value) {
  if (value === null || typeof value !== 'object') return false
  const v = /** @type {Record<string, unknown>} */ (value)
  return typeof v.reason === 'string' && typeof v.exitCode === 'number' &&
    v.phases !== null && typeof v.phases === 'object' && Array.isArray(v.hooks)
}

/**
 * Finds the shutdown report in one parsed log line: the line itself, or one of its fields
 * (a logger may put it under a key such as `report`).
 * @param {Record<string, unknown>} line
 * @returns {ShutdownReport | undefined}
 */
export function reportFromLogLine (line) {
  if (isShutdownReport(line)) return line
  for (const value of Object.values(line)) {
    if (isShutdownReport(value)) return value
  }
  return undefined
}

/**
 * A running service.
 */
export class ServiceProcess {
  /**
   * @param {import('node:child_process').ChildProcess} child
   * @param {(line: Record<string, unknown>) => void} [onLine] called with every JSON log line
   */
  constructor (child, onLine) {
    this.child = child
    this.onLine = onLine
    /** @type {Record<string, unknown>[]} every JSON line printed on stdout */
    this.lines = []
    /** @type {string[]} stdout lines that are not JSON, and all of stderr */
    this.otherOutput = []
    /** @type {string | undefined} */
    this.url = undefined
    /** @type {{ code: number | null, signal: NodeJS.Signals | null } | undefined} */
    this.exit = undefined
    /** @type {Set<() => void>} */
    this.listeners = new Set()
    child.once('exit', (code, signal) => {
      this.exit = { code, signal }
      this.notify()
    })
    child.once('error', err => { // could not spawn, or could not be killed
      this.otherOutput.push(`child process error: ${err.message}`)
      if (child.pid === undefined) this.exit = { code: null, signal: null }
      this.notify()
    })

    createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) }).on('line', text => {
      let parsed
      try {
        parsed = JSON.parse(text)
      } catch {
        this.otherOutput.push(text)
        this.notify()
        return
      }
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        this.lines.push(parsed)
        if (parsed.event === 'listening' && typeof parsed.url === 'string') this.url = parsed.url
        this.onLine?.(parsed)
      } else {
        this.otherOutput.push(text)
      }
      this.notify()
    })
    createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stderr) }).on('line', text => {
      this.otherOutput.push(text)
      this.notify()
    })
  }

  /** @private */
  notify () {
    for (const listener of [...this.listeners]) listener()
  }

  get pid () {
    return this.child.pid
  }

  /** @returns {ShutdownReport | undefined} the report, once the service logged it */
  get report () {
    for (const line of this.lines) {
      const report = reportFromLogLine(line)
      if (report) return report
    }
    return undefined
  }

  /**
   * Resolves with `check()`'s first truthy result, re-checked on every line and on exit;
   * rejects after `timeoutMs` (a hang guard) or when the process exits before.
   * @template T
   * @param {() => T | undefined | null | false} check
   * @param {{ timeoutMs?: number, what?: string, allowExit?: boolean }} [options]
   * @returns {Promise<T>}
   */
  waitFor (check, { timeoutMs = 15_000, what = 'condition', allowExit = false } = {}) {
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer)
        this.listeners.delete(test)
      }
      const test = () => {
        const value = check()
        if (value) {
          finish()
          resolve(value)
        } else if (this.exit && !allowExit) {
          finish()
          reject(new Error(`service exited (${JSON.stringify(this.exit)}) while waiting for ${what}\n${this.tail()}`))
        }
      }
      const timer = setTimeout(() => {
        finish()
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.tail()}`))
      }, timeoutMs)
      this.listeners.add(test)
      test()
    })
  }

  /** The last lines of output, for error messages. */
  tail (n = 15) {
    const json = this.lines.slice(-n).map(l => JSON.stringify(l))
    return [...json, ...this.otherOutput.slice(-n)].join('\n')
  }

  /**
   * Sends a signal (default SIGTERM).
   * @param {NodeJS.Signals} [signal]
   */
  signal (signal = 'SIGTERM') {
    if (!this.exit) this.child.kill(signal)
  }

  /**
   * Waits for the process to exit (bounded).
   * @param {number} [timeoutMs]
   */
  async waitForExit (timeoutMs = 20_000) {
    return this.waitFor(() => this.exit, { timeoutMs, what: 'exit', allowExit: true })
  }

  /** Kills the process at once if it still runs; for clean-up after failures. */
  kill () {
    if (!this.exit && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
  }
}

/**
 * Starts the service and waits until it listens.
 * @param {{
 *   framework?: 'fastify' | 'express',
 *   env?: Record<string, string>,
 *   timeoutMs?: number,
 *   onStart?: (service: ServiceProcess) => void,
 *   onLine?: (line: Record<string, unknown>) => void
 * }} [options]
 *   `onStart` gets the process before it listens, so a caller can register its clean-up first;
 *   `onLine` gets every JSON line the service logs.
 * @returns {Promise<ServiceProcess & { url: string }>}
 */
export async function startService ({ framework = 'fastify', env = {}, timeoutMs = 15_000, onStart, onLine } = {}) {
  const child = spawn(process.execPath, [ENTRIES[framework]], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const service = new ServiceProcess(child, onLine)
  onStart?.(service)
  try {
    await service.waitFor(() => service.url, { timeoutMs, what: 'the "listening" log line' })
  } catch (err) {
    service.kill()
    throw err
  }
  return /** @type {ServiceProcess & { url: string }} */ (service)
}
