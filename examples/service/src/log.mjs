/**
 * A tiny pino-compatible JSON-lines logger for the express entry, so both entries print the same
 * kind of line (`{"level":30,"time":…,"msg":…}`) and the demo can read either.
 * @module
 */

import { hostname } from 'node:os'

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }

/** @param {unknown} err */
function serializeError (err) {
  if (!(err instanceof Error)) return err
  const { name, message, stack } = err
  const code = /** @type {{ code?: unknown }} */ (err).code
  return { type: name, message, stack, ...(code === undefined ? {} : { code }) }
}

/**
 * @param {{ level?: string, stream?: NodeJS.WritableStream }} [options]
 */
export function createLogger ({ level = 'info', stream = process.stdout } = {}) {
  const min = LEVELS[/** @type {keyof typeof LEVELS} */ (level)] ?? LEVELS.info
  const base = { pid: process.pid, hostname: hostname() }

  /** @param {number} lvl @param {unknown} obj @param {string} [msg] */
  function write (lvl, obj, msg) {
    if (lvl < min) return
    /** @type {Record<string, unknown>} */
    let fields = {}
    if (typeof obj === 'string') msg = obj
    else if (obj instanceof Error) fields = { err: serializeError(obj) }
    else if (obj !== null && typeof obj === 'object') {
      fields = { ...obj }
      if ('err' in fields) fields.err = serializeError(fields.err)
    }
    stream.write(JSON.stringify({ level: lvl, time: Date.now(), ...base, ...fields, ...(msg === undefined ? {} : { msg }) }) + '\n')
  }

  return {
    /** @param {unknown} obj @param {string} [msg] */
    debug: (obj, msg) => write(LEVELS.debug, obj, msg),
    /** @param {unknown} obj @param {string} [msg] */
    info: (obj, msg) => write(LEVELS.info, obj, msg),
    /** @param {unknown} obj @param {string} [msg] */
    warn: (obj, msg) => write(LEVELS.warn, obj, msg),
    /** @param {unknown} obj @param {string} [msg] */
    error: (obj, msg) => write(LEVELS.error, obj, msg),
    /**
     * Calls back once everything written so far left the process.
     * @param {(err?: Error | null) => void} [cb]
     */
    flush (cb) {
      stream.write('', () => cb?.())
    }
  }
}
