/**
 * Every check of what a user passes graceful, in one place: options (resolveOptions() assembles
 * them), registrations, close codes. A bad value throws at once with a message that names the
 * option and the form it expects.
 * @module
 */
import { constants } from 'node:os'
import { GracefulRangeError, GracefulTypeError } from './errors.js'
import { exitProcess } from './exit.js'
import { fromMessageLogger, type MessageLogger, safeLogger, silentLogger } from './logger.js'
import type { Logger } from './types.js'

/** setTimeout cannot wait longer than this. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1
/** Signals a process cannot catch. */
const UNCATCHABLE = new Set(['SIGKILL', 'SIGSTOP'])

const LONG_LIVED_KEYS: readonly string[] = ['spreadMs', 'closeCode']

/** Renders a bad value for a message: strings quoted, everything else by its kind. */
export function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (value === null || typeof value !== 'object') return String(value)
  return 'an object'
}

/** `<option> must be <form>, got <value>` */
export function invalid (option: string, form: string, value: unknown, range = false): Error {
  const message = `${option} must be ${form}, got ${describe(value)}`
  return range ? new GracefulRangeError(message) : new GracefulTypeError(message)
}

/** Throws for a key of `options` that is not one of `keys`, naming it as `<where>.<key>`: a misspelt option fails at once. */
export function rejectUnknownKeys (where: string, options: object, keys: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) throw invalid(`${where}.${key}`, `one of ${keys.join(', ')} (unknown option)`, key)
  }
}

/** What a registration method (onCleanup, onPersist, startup, check) accepts besides its own options. */
export interface RegistrationRule {
  /** The method's name as the user wrote it, for the message: `'onCleanup'`. */
  readonly method: string
  /** Option keys the method knows. */
  readonly keys: readonly string[]
  /** Names already taken in the same list: a name must be unique there. */
  readonly taken: Iterable<string>
  /** What the names are unique among, for the message: `'readiness checks'`. */
  readonly among: string
  /** How `fn` must look, for the message. */
  readonly form?: string
  /** Accepts a promise in place of a function (startup tasks, tracked work). */
  readonly promise?: boolean
}

export interface Registration {
  readonly name: string
  readonly options: Readonly<Record<string, unknown>>
  /** `options.timeoutMs` checked; undefined when not given. */
  readonly timeoutMs: number | undefined
}

/**
 * The one validation of every registration: a non-empty unique name, a function (or a promise where
 * allowed), an options object with known keys and a valid `timeoutMs`. Throws at registration time,
 * naming the method, the option and the expected form.
 */
export function validateRegistration (rule: RegistrationRule, name: unknown, fn: unknown, options: unknown): Registration {
  const { method, keys } = rule
  if (typeof name !== 'string' || name.trim() === '') throw invalid(`${method}(name)`, 'a non-empty string', name)
  if (typeof fn !== 'function' && !(rule.promise === true && isThenable(fn))) {
    throw invalid(`${method}('${name}', ${rule.promise === true ? 'task' : 'fn'})`, rule.form ?? 'a function (signal) => unknown', fn)
  }
  if (typeof options !== 'object' || options === null) throw invalid(`${method}('${name}') options`, 'an object', options)
  rejectUnknownKeys(`${method}('${name}') options`, options, keys)
  for (const taken of rule.taken) if (taken === name) throw invalid(`${method}(name)`, `unique among ${rule.among}`, name)
  const raw = (options as { timeoutMs?: unknown }).timeoutMs
  const timeoutMs = raw === undefined ? undefined : checkDuration(`${method}('${name}') options.timeoutMs`, raw, { positive: true })
  return { name, options: options as Record<string, unknown>, timeoutMs }
}

/** A boolean option of a registration, or undefined when not given. */
export function booleanOption (method: string, name: string, options: Readonly<Record<string, unknown>>, key: string): boolean | undefined {
  const value = options[key]
  if (value !== undefined && typeof value !== 'boolean') throw invalid(`${method}('${name}') options.${key}`, 'a boolean', value)
  return value as boolean | undefined
}

export function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function'
}

/** Validates a duration option: a finite, non-negative number of milliseconds that setTimeout can wait. */
export function checkDuration (option: string, value: unknown, { positive = false } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalid(option, `a ${positive ? 'positive' : 'non-negative'} number of milliseconds`, value)
  }
  if (value < 0 || (positive && value === 0) || value > MAX_TIMEOUT_MS) {
    throw invalid(option, `a ${positive ? 'positive' : 'non-negative'} number of milliseconds up to ${MAX_TIMEOUT_MS}`, value, true)
  }
  return value
}

export function checkSignals (value: unknown): NodeJS.Signals[] {
  if (!Array.isArray(value)) throw invalid('signals', "an array of signal names such as ['SIGTERM', 'SIGINT']", value)
  for (const name of value) {
    if (typeof name !== 'string' || !(name in constants.signals) || UNCATCHABLE.has(name)) {
      throw invalid('signals', 'an array of catchable signal names such as \'SIGTERM\'', name)
    }
  }
  return [...new Set(value as NodeJS.Signals[])]
}

export function checkLogger (value: unknown): Logger {
  if (value === false) return silentLogger
  const has = (...methods: string[]): boolean => typeof value === 'object' && value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  // pino, bunyan, fastify's app.log and console: (object, message).
  if (has('info', 'warn', 'error')) return safeLogger(value as Logger)
  // NestJS's Logger and other message-first loggers have log() instead of info().
  if (has('log', 'warn', 'error')) return safeLogger(fromMessageLogger(value as MessageLogger))
  throw invalid('logger', 'a logger with info, warn and error methods (pino, console), one with log, warn and error (NestJS Logger), or false', value)
}

export function checkExit (value: unknown): ((code: number) => void) | undefined {
  if (value === false) return undefined
  if (value === true) return exitProcess
  if (typeof value === 'function') return value as (code: number) => void
  throw invalid('exit', 'true, false or a function (code) => void', value)
}

export function checkProbePaths (value: unknown): Set<string> {
  if (!Array.isArray(value) || value.some((p) => typeof p !== 'string' || !p.startsWith('/'))) {
    throw invalid('probePaths', "an array of paths starting with '/'", value)
  }
  return new Set(value as string[])
}

export function checkProbePath (option: string, value: unknown, fallback: string): string | false {
  if (value === undefined) return fallback
  if (value === false || (typeof value === 'string' && value.startsWith('/') && !value.includes('?'))) return value
  throw invalid(option, "a path starting with '/' (no query string) or false", value)
}

/** The `longLived` option, checked; what it leaves out is undefined (resolveOptions() has the defaults). */
export function checkLongLived (value: unknown, gracePeriodMs: number): { spreadMs?: number, closeCode?: number } {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null) throw invalid('longLived', 'an object such as { spreadMs: 3000, closeCode: 1012 }', value)
  rejectUnknownKeys('longLived', value, LONG_LIVED_KEYS)
  const { spreadMs, closeCode } = value as { spreadMs?: unknown, closeCode?: unknown }
  if (spreadMs !== undefined && checkDuration('longLived.spreadMs', spreadMs) > gracePeriodMs) {
    throw invalid('longLived.spreadMs', `at most gracePeriodMs (${gracePeriodMs}): the closes are spread within the drain`, spreadMs, true)
  }
  return {
    ...(spreadMs === undefined ? {} : { spreadMs: spreadMs as number }),
    ...(closeCode === undefined ? {} : { closeCode: checkCloseCode('longLived.closeCode', closeCode) })
  }
}

/** A close code a server may send and every client accepts (RFC 6455 §7.4 and the IANA registry; 1004–1006 and 1015 are never sent). */
export function checkCloseCode (option: string, value: unknown): number {
  const code = value as number
  const sendable = Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
  if (!sendable) {
    throw invalid(option, 'a WebSocket close code a server may send: 1000–1003, 1007–1014 (1012 "service restart", 1001 "going away") or 3000–4999', value, typeof value === 'number')
  }
  return code
}
