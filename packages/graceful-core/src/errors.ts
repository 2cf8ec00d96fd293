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

/** The error of a registration made once shutdown began. */
export function tooLate (what: string, state: string): GracefulStateError {
  return new GracefulStateError(`${what} was called after shutdown began (state '${state}'); register before shutdown`)
}
