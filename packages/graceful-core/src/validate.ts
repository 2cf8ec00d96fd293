import { invalid, rejectUnknownKeys } from './errors.js'
import { checkDuration } from './options.js'

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
