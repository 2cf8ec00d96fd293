import { availableParallelism, constants } from 'node:os'
import { resolveOptions } from '../options.js'
import { checkDuration, invalid, rejectUnknownKeys } from '../validate.js'
import type { GracefulOptions, Logger } from '../types.js'

export interface ClusterPrimaryOptions {
  /** How many workers to run. Default: `os.availableParallelism()`. */
  workers?: number
  /**
   * The workers' budget from SIGTERM (or SIGINT) to exit, the same number as their own
   * `gracePeriodMs`: the primary SIGKILLs a worker still alive 2 s after it (time for the worker's
   * report and log flush), at shutdown and at a reload. Default 30000.
   */
  gracePeriodMs?: number
  /** The signal that replaces the workers one at a time; `false` for none. Default `'SIGHUP'`. */
  reloadSignal?: NodeJS.Signals | false
  /**
   * How long a new worker may take to report ready (`process.send('ready')`, which graceful does once
   * it is running) before a reload gives up on it and keeps the old worker. Default 60000.
   */
  readyTimeoutMs?: number
  /** Where the primary logs: as createGraceful()'s `logger` (JSON lines on stdout by default, `false` for none). */
  logger?: NonNullable<GracefulOptions['logger']>
}

export interface ResolvedPrimaryOptions {
  readonly workers: number
  readonly gracePeriodMs: number
  readonly reloadSignal: NodeJS.Signals | false
  readonly readyTimeoutMs: number
  readonly logger: Logger
}

const KEYS = ['workers', 'gracePeriodMs', 'reloadSignal', 'readyTimeoutMs', 'logger']
/** Signals the primary uses itself, or that cannot be caught. */
const NOT_FOR_RELOAD = new Set(['SIGTERM', 'SIGINT', 'SIGKILL', 'SIGSTOP'])

/** Validates clusterPrimary()'s options at call time: a bad one throws, naming itself and the form it needs. */
export function resolvePrimaryOptions (options: unknown): ResolvedPrimaryOptions {
  if (options === undefined) options = {}
  if (typeof options !== 'object' || options === null) throw invalid('clusterPrimary(options)', 'an object', options)
  rejectUnknownKeys('clusterPrimary() options', options, KEYS)
  const o = options as Record<string, unknown>
  let workers = availableParallelism()
  if (o.workers !== undefined) {
    if (typeof o.workers !== 'number' || !Number.isInteger(o.workers)) throw invalid('workers', 'a positive integer (the number of worker processes)', o.workers)
    if (o.workers < 1 || o.workers > 1024) throw invalid('workers', 'a positive integer up to 1024', o.workers, true)
    workers = o.workers
  }
  let reloadSignal: NodeJS.Signals | false = 'SIGHUP'
  if (o.reloadSignal !== undefined) {
    const s = o.reloadSignal
    if (s !== false && (typeof s !== 'string' || !(s in constants.signals) || NOT_FOR_RELOAD.has(s))) {
      throw invalid('reloadSignal', "a catchable signal name other than SIGTERM and SIGINT (such as 'SIGHUP' or 'SIGUSR2'), or false", s)
    }
    reloadSignal = s as NodeJS.Signals | false
  }
  return Object.freeze({
    workers,
    gracePeriodMs: o.gracePeriodMs === undefined ? 30_000 : checkDuration('gracePeriodMs', o.gracePeriodMs, { positive: true }),
    reloadSignal,
    readyTimeoutMs: o.readyTimeoutMs === undefined ? 60_000 : checkDuration('readyTimeoutMs', o.readyTimeoutMs, { positive: true }),
    // The coordinator's own logger check (and its message naming `logger`).
    logger: resolveOptions(o.logger === undefined ? {} : { logger: o.logger } as GracefulOptions, {}).logger
  })
}
