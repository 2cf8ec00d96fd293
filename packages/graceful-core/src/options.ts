import { constants } from 'node:os'
import { checkCloseCode, SERVICE_RESTART } from './drain/websockets.js'
import { invalid, rejectUnknownKeys } from './errors.js'
import { exitProcess } from './exit.js'
import { defaultLogger, fromMessageLogger, type MessageLogger, safeLogger, silentLogger } from './logger.js'
import { hostPreStopDelayMs } from './platform/host.js'
import { pm2KillTimeout, type Pm2KillTimeout } from './platform/pm2.js'
import type { GracefulOptions, Logger } from './types.js'

/** setTimeout cannot wait longer than this. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1
/** The default window of long-lived closes: enough to flatten a reconnect storm, cheap for the drain. */
export const LONG_LIVED_SPREAD_MS = 1000
/** Signals a process cannot catch. */
const UNCATCHABLE = new Set(['SIGKILL', 'SIGSTOP'])

export interface ResolvedOptions {
  readonly signals: readonly NodeJS.Signals[]
  readonly preStopDelayMs: number
  readonly preStopQuietMs: number
  readonly preStopMaxMs: number
  readonly gracePeriodMs: number
  readonly hookTimeoutMs: number
  readonly startupTimeoutMs: number
  readonly terminationGracePeriodMs: number | undefined
  /** Under PM2: when PM2 kills the process after SIGINT. */
  readonly pm2KillTimeout: Pm2KillTimeout | undefined
  readonly exit: ((code: number) => void) | undefined
  readonly exitWithSignalCode: boolean
  readonly healthPath: string | false
  readonly readyPath: string | false
  /** Paths that are probes, not traffic: `probePaths` plus the probe routes. */
  readonly probePaths: ReadonlySet<string>
  readonly logger: Logger
  /** `spreadGiven`: set by the user (a window the budget cannot fit is warned of; the default is shortened silently). */
  readonly longLived: { readonly spreadMs: number, readonly closeCode: number, readonly spreadGiven: boolean }
}

const KNOWN_KEYS: readonly string[] = [
  'signals', 'preStopDelayMs', 'preStopQuietMs', 'preStopMaxMs', 'gracePeriodMs', 'hookTimeoutMs',
  'terminationGracePeriodMs', 'startupTimeoutMs', 'exit', 'exitWithSignalCode', 'probePaths', 'healthPath', 'readyPath', 'logger', 'longLived'
]
const LONG_LIVED_KEYS: readonly string[] = ['spreadMs', 'closeCode']

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

function checkSignals (value: unknown): NodeJS.Signals[] {
  if (!Array.isArray(value)) throw invalid('signals', "an array of signal names such as ['SIGTERM', 'SIGINT']", value)
  for (const name of value) {
    if (typeof name !== 'string' || !(name in constants.signals) || UNCATCHABLE.has(name)) {
      throw invalid('signals', 'an array of catchable signal names such as \'SIGTERM\'', name)
    }
  }
  return [...new Set(value as NodeJS.Signals[])]
}

function checkLogger (value: unknown): Logger {
  if (value === false) return silentLogger
  const has = (...methods: string[]): boolean => typeof value === 'object' && value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  // pino, bunyan, fastify's app.log and console: (object, message).
  if (has('info', 'warn', 'error')) return safeLogger(value as Logger)
  // NestJS's Logger and other message-first loggers have log() instead of info().
  if (has('log', 'warn', 'error')) return safeLogger(fromMessageLogger(value as MessageLogger))
  throw invalid('logger', 'a logger with info, warn and error methods (pino, console), one with log, warn and error (NestJS Logger), or false', value)
}

function checkExit (value: unknown): ((code: number) => void) | undefined {
  if (value === false) return undefined
  if (value === true) return exitProcess
  if (typeof value === 'function') return value as (code: number) => void
  throw invalid('exit', 'true, false or a function (code) => void', value)
}

function checkProbePaths (value: unknown): Set<string> {
  if (!Array.isArray(value) || value.some((p) => typeof p !== 'string' || !p.startsWith('/'))) {
    throw invalid('probePaths', "an array of paths starting with '/'", value)
  }
  return new Set(value as string[])
}

function checkProbePath (option: string, value: unknown, fallback: string): string | false {
  if (value === undefined) return fallback
  if (value === false || (typeof value === 'string' && value.startsWith('/') && !value.includes('?'))) return value
  throw invalid(option, "a path starting with '/' (no query string) or false", value)
}

function checkLongLived (value: unknown, gracePeriodMs: number): ResolvedOptions['longLived'] {
  if (value === undefined) return { spreadMs: LONG_LIVED_SPREAD_MS, closeCode: SERVICE_RESTART, spreadGiven: false }
  if (typeof value !== 'object' || value === null) throw invalid('longLived', 'an object such as { spreadMs: 3000, closeCode: 1012 }', value)
  rejectUnknownKeys('longLived', value, LONG_LIVED_KEYS)
  const { spreadMs, closeCode } = value as { spreadMs?: unknown, closeCode?: unknown }
  const spreadGiven = spreadMs !== undefined
  if (spreadGiven && checkDuration('longLived.spreadMs', spreadMs) > gracePeriodMs) {
    throw invalid('longLived.spreadMs', `at most gracePeriodMs (${gracePeriodMs}): the closes are spread within the drain`, spreadMs, true)
  }
  return {
    spreadMs: spreadGiven ? spreadMs as number : LONG_LIVED_SPREAD_MS,
    closeCode: closeCode === undefined ? SERVICE_RESTART : checkCloseCode('longLived.closeCode', closeCode),
    spreadGiven
  }
}

function envSeconds (env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  const seconds = Number(raw)
  if (!Number.isFinite(seconds) || seconds <= 0) throw invalid(name, 'a positive number of seconds', raw)
  return seconds * 1000
}

/**
 * Merges defaults once and validates every option, so bad input fails at creation with a message
 * that names the option and the expected form, never later at shutdown.
 */
export function resolveOptions (options: GracefulOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object', options)
  rejectUnknownKeys('options', options, KNOWN_KEYS)
  const o = options as Record<string, unknown>
  const has = (key: string): boolean => o[key] !== undefined
  // Under Kubernetes the endpoint removal lags SIGTERM by seconds, so pre-stop waits for traffic to stop.
  const inKubernetes = Boolean(env.KUBERNETES_SERVICE_HOST)

  const preStopDelayMs = has('preStopDelayMs') ? checkDuration('preStopDelayMs', o.preStopDelayMs) : (inKubernetes ? 1000 : hostPreStopDelayMs(env))
  // A delay given alone means a fixed window: traffic awareness is opted into by a quiet period.
  const quietDefault = inKubernetes && !has('preStopDelayMs') ? 1000 : 0
  const preStopQuietMs = has('preStopQuietMs') ? checkDuration('preStopQuietMs', o.preStopQuietMs) : quietDefault
  const preStopMaxMs = has('preStopMaxMs')
    ? checkDuration('preStopMaxMs', o.preStopMaxMs)
    : (preStopQuietMs > 0 ? Math.max(preStopDelayMs, 15_000) : preStopDelayMs)
  if (preStopMaxMs < preStopDelayMs) {
    throw invalid('preStopMaxMs', `at least preStopDelayMs (${preStopDelayMs})`, preStopMaxMs, true)
  }
  const gracePeriodMs = has('gracePeriodMs') ? checkDuration('gracePeriodMs', o.gracePeriodMs, { positive: true }) : 30_000
  const terminationGracePeriodMs = has('terminationGracePeriodMs')
    ? checkDuration('terminationGracePeriodMs', o.terminationGracePeriodMs, { positive: true })
    : envSeconds(env, 'TERMINATION_GRACE_PERIOD_SECONDS')
  if (has('exitWithSignalCode') && typeof o.exitWithSignalCode !== 'boolean') {
    throw invalid('exitWithSignalCode', 'a boolean', o.exitWithSignalCode)
  }
  const healthPath = checkProbePath('healthPath', o.healthPath, '/health')
  const readyPath = checkProbePath('readyPath', o.readyPath, '/ready')
  if (healthPath !== false && healthPath === readyPath) throw invalid('readyPath', 'different from healthPath', readyPath)
  const probePaths = new Set([...(has('probePaths') ? checkProbePaths(o.probePaths) : []), healthPath, readyPath].filter((p) => p !== false))
  return Object.freeze({
    signals: has('signals') ? checkSignals(o.signals) : ['SIGTERM', 'SIGINT'] as NodeJS.Signals[],
    preStopDelayMs,
    preStopQuietMs,
    preStopMaxMs,
    gracePeriodMs,
    hookTimeoutMs: has('hookTimeoutMs') ? checkDuration('hookTimeoutMs', o.hookTimeoutMs, { positive: true }) : 5_000,
    startupTimeoutMs: has('startupTimeoutMs') ? checkDuration('startupTimeoutMs', o.startupTimeoutMs, { positive: true }) : 60_000,
    terminationGracePeriodMs,
    pm2KillTimeout: pm2KillTimeout(env),
    exit: has('exit') ? checkExit(o.exit) : exitProcess,
    exitWithSignalCode: o.exitWithSignalCode === true,
    healthPath,
    readyPath,
    probePaths,
    logger: has('logger') ? checkLogger(o.logger) : safeLogger(defaultLogger),
    longLived: checkLongLived(o.longLived, gracePeriodMs)
  })
}
