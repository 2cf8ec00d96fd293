/** Errors graceful throws at creation or registration time. Shutdown itself never throws: its failures go into the report. */

export const INVALID_OPTION = 'GRACEFUL_ERR_INVALID_OPTION'
export const REGISTERED_TOO_LATE = 'GRACEFUL_ERR_TOO_LATE'
export const UNSUPPORTED_RUNTIME = 'GRACEFUL_ERR_UNSUPPORTED_RUNTIME'

export class GracefulTypeError extends TypeError {
  readonly code = INVALID_OPTION
  override name = 'GracefulTypeError'
}

export class GracefulRangeError extends RangeError {
  readonly code = INVALID_OPTION
  override name = 'GracefulRangeError'
}

export class GracefulStateError extends Error {
  readonly code = REGISTERED_TOO_LATE
  override name = 'GracefulStateError'
}

/** The runtime cannot run graceful (a Node.js below 20.3): thrown by createGraceful(). */
export class GracefulRuntimeError extends Error {
  readonly code = UNSUPPORTED_RUNTIME
  override name = 'GracefulRuntimeError'
}

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

/**
 * The one error serialiser: what a reader needs of an error as plain JSON (an Error serialises to
 * `{}` otherwise). The report keeps it as is; the logger adds the stack.
 */
export function errorInfo (error: unknown): { name: string, message: string, code?: string } {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code
    return { name: error.name, message: maskCredentials(error.message), ...(typeof code === 'string' ? { code } : {}) }
  }
  return { name: 'NonError', message: maskCredentials(String(error)) }
}

/** `scheme://user:password@` in a URL: the password is what must never reach a log or a report. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s@/]*@/gi

/** Replaces the password of every URL in `text` with `***` (`postgres://admin:***@db`). */
export function maskCredentials (text: string): string {
  return text.replace(URL_CREDENTIALS, '$1:***@')
}

/** Throws for a key of `options` that is not one of `keys`, naming it as `<where>.<key>`: a misspelt option fails at once. */
export function rejectUnknownKeys (where: string, options: object, keys: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) throw invalid(`${where}.${key}`, `one of ${keys.join(', ')} (unknown option)`, key)
  }
}

/** The error of a registration made once shutdown began. */
export function tooLate (what: string, state: string): GracefulStateError {
  return new GracefulStateError(`${what} was called after shutdown began (state '${state}'); register before shutdown`)
}
