import { SERVICE_RESTART } from './drain/websockets.js'
import { exitProcess } from './exit.js'
import { defaultLogger, safeLogger } from './logger.js'
import { hostPreStopDelayMs, keepAliveInPreStop, kubernetesOf } from './platform/host.js'
import { pm2KillTimeout, type Pm2KillTimeout } from './platform/pm2.js'
import type { GracefulOptions, Logger } from './types.js'
import { checkDuration, checkExit, checkLogger, checkLongLived, checkProbePath, checkProbePaths, checkSignals, invalid, rejectUnknownKeys } from './validate.js'

/** The default window of long-lived closes: enough to flatten a reconnect storm, cheap for the drain. */
export const LONG_LIVED_SPREAD_MS = 1000

export interface ResolvedOptions {
  readonly signals: readonly NodeJS.Signals[]
  readonly preStopDelayMs: number
  readonly preStopQuietMs: number
  readonly preStopMaxMs: number
  /** Connections accepted during pre-stop stay keep-alive until the drain (platform/host.ts). */
  readonly keepAliveInPreStop: boolean
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
  const kubernetes = kubernetesOf(env)
  const inKubernetes = kubernetes.detected

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
    : kubernetes.terminationGracePeriodMs
  if (has('exitWithSignalCode') && typeof o.exitWithSignalCode !== 'boolean') {
    throw invalid('exitWithSignalCode', 'a boolean', o.exitWithSignalCode)
  }
  const healthPath = checkProbePath('healthPath', o.healthPath, '/health')
  const readyPath = checkProbePath('readyPath', o.readyPath, '/ready')
  if (healthPath !== false && healthPath === readyPath) throw invalid('readyPath', 'different from healthPath', readyPath)
  const longLived = checkLongLived(o.longLived, gracePeriodMs)
  const probePaths = new Set([...(has('probePaths') ? checkProbePaths(o.probePaths) : []), healthPath, readyPath].filter((p) => p !== false))
  return Object.freeze({
    signals: has('signals') ? checkSignals(o.signals) : ['SIGTERM', 'SIGINT'] as NodeJS.Signals[],
    preStopDelayMs,
    preStopQuietMs,
    preStopMaxMs,
    keepAliveInPreStop: keepAliveInPreStop(env),
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
    longLived: { spreadMs: longLived.spreadMs ?? LONG_LIVED_SPREAD_MS, closeCode: longLived.closeCode ?? SERVICE_RESTART, spreadGiven: longLived.spreadMs !== undefined }
  })
}
