import { errorInfo, maskCredentials } from './errors.js'
import type { Logger } from './types.js'

type Level = 30 | 40 | 50

function write (level: Level, obj: object, msg?: string): void {
  const line = JSON.stringify({ level, time: Date.now(), ...obj, msg }, keepErrors) + '\n'
  process.stdout.write(line)
}

/** An Error serialises to {} by default; keep what a reader needs, in the shape of pino's err serializer. */
function keepErrors (_key: string, value: unknown): unknown {
  if (!(value instanceof Error)) return value
  const { name, ...info } = errorInfo(value)
  return { type: name, ...info, stack: value.stack }
}

/** JSON lines on stdout in pino's shape, so the same log tooling reads both. */
export const defaultLogger: Logger = {
  info: (obj, msg) => write(30, obj, msg),
  warn: (obj, msg) => write(40, obj, msg),
  error: (obj, msg) => write(50, obj, msg),
  flush (cb) {
    // An empty write's callback runs once everything queued before it reached the OS.
    process.stdout.write('', () => cb?.())
  }
}

/** A logger that takes a message string first: NestJS's Logger, or anything console-like without `info`. */
export interface MessageLogger {
  log(message: string): void
  warn(message: string): void
  error(message: string): void
}

/** Adapts a message-first logger: the message, then the fields as JSON, on one line. */
export function fromMessageLogger (target: MessageLogger): Logger {
  const line = (obj: object, msg?: string): string => {
    // The summary message is the report in words: a message logger gets that one readable line.
    const { report, ...rest } = obj as { report?: unknown }
    const fields = JSON.stringify(rest, keepErrors)
    return fields === '{}' ? (msg ?? '') : `${msg ?? ''} ${fields}`
  }
  return {
    info: (obj, msg) => target.log(line(obj, msg)),
    warn: (obj, msg) => target.warn(line(obj, msg)),
    error: (obj, msg) => target.error(line(obj, msg))
  }
}

const noop = (): void => {}
export const silentLogger: Logger = { info: noop, warn: noop, error: noop }

/**
 * The user's logger, made safe: a logger that throws (a closed transport, a bad serializer) loses
 * that line, never the pipeline; and no URL password reaches it, in the message or in any field.
 */
export function safeLogger (target: Logger): Logger {
  const guard = (method: 'info' | 'warn' | 'error') => (obj: object, msg?: string): void => {
    try {
      target[method](masked(obj, 0) as object, msg === undefined ? undefined : maskCredentials(msg))
    } catch {}
  }
  const safe: Logger = { info: guard('info'), warn: guard('warn'), error: guard('error') }
  if (typeof target.flush === 'function') safe.flush = target.flush.bind(target)
  return safe
}

/** How deep masked() looks into log fields (the report nests errors three levels down). */
const MASK_DEPTH = 4

/** A copy of `value` whose strings and error texts carry no URL password; errors stay errors for the logger's serializer. */
function masked (value: unknown, depth: number): unknown {
  if (typeof value === 'string') return maskCredentials(value)
  if (value instanceof Error) {
    const copy = Object.assign(new Error(maskCredentials(value.message)), { name: value.name })
    if (value.stack !== undefined) copy.stack = maskCredentials(value.stack)
    const code = (value as NodeJS.ErrnoException).code
    return code === undefined ? copy : Object.assign(copy, { code })
  }
  if (typeof value !== 'object' || value === null || depth >= MASK_DEPTH) return value
  if (Array.isArray(value)) return value.map((item) => masked(item, depth + 1))
  return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, masked(field, depth + 1)]))
}
