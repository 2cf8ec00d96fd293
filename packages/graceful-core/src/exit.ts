import { constants } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from './types.js'

/** The longest the exit waits for the logger to flush. */
const LOGGER_FLUSH_TIMEOUT_MS = 1000

/**
 * The exit code of a run: 1 when anything failed, was forced or cut; otherwise 0, or 128 + the
 * signal's number with `exitWithSignalCode` (143 for SIGTERM).
 */
export function exitCodeOf (reason: string, failed: boolean, exitWithSignalCode: boolean): number {
  if (failed) return 1
  const signalNumber = (constants.signals as Record<string, number>)[reason]
  return exitWithSignalCode && signalNumber !== undefined ? 128 + signalNumber : 0
}

/** The default `exit`: the code is set before exiting, so a process that cannot exit (a worker) still reports it. */
export function exitProcess (code: number): void {
  process.exitCode = code
  process.exit(code)
}

/** Waits for the logger to flush, at most LOGGER_FLUSH_TIMEOUT_MS, so the last lines are not lost on exit. */
export async function flushLogger (logger: Logger): Promise<void> {
  if (typeof logger.flush !== 'function') return
  const flush = logger.flush.bind(logger)
  await Promise.race([
    new Promise<void>((resolve) => {
      try {
        flush(() => resolve())
      } catch {
        resolve()
      }
    }),
    sleep(LOGGER_FLUSH_TIMEOUT_MS, undefined, { ref: false })
  ])
}
