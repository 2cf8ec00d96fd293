/**
 * PM2's kill deadline. PM2 sends SIGINT (or the message `'shutdown'`) and SIGKILLs the process
 * `kill_timeout` ms later: 1600 ms unless the app's configuration says otherwise. PM2 puts
 * `kill_timeout` in the app's environment only when it is configured.
 * @module
 */

/** PM2's default kill_timeout (ms). */
export const PM2_DEFAULT_KILL_TIMEOUT_MS = 1600
/** The logger flush and the process exit need a moment after gracePeriodMs. */
export const KILL_HEADROOM_MS = 2000

export interface KillTimeoutCheck {
  readonly killTimeoutMs: number
  /** What kill_timeout should be at least. */
  readonly neededMs: number
  readonly configured: boolean
}

/** The kill_timeout PM2 applies to this process, and whether gracePeriodMs fits before it; undefined when it fits. */
export function pm2KillTimeoutShortfall (gracePeriodMs: number, env: NodeJS.ProcessEnv): KillTimeoutCheck | undefined {
  const raw = Number(env.kill_timeout)
  const configured = Number.isFinite(raw) && raw > 0
  const killTimeoutMs = configured ? raw : PM2_DEFAULT_KILL_TIMEOUT_MS
  const neededMs = gracePeriodMs + KILL_HEADROOM_MS
  return killTimeoutMs >= neededMs ? undefined : { killTimeoutMs, neededMs, configured }
}

export function pm2KillTimeoutMessage (gracePeriodMs: number, check: KillTimeoutCheck): string {
  return `PM2 kills this process kill_timeout (${check.killTimeoutMs} ms${check.configured ? '' : ', PM2\'s default'}) after SIGINT, ` +
    `before gracePeriodMs (${gracePeriodMs} ms) can end: set kill_timeout: ${check.neededMs} in the ecosystem file ` +
    `(pm2 start --kill-timeout ${check.neededMs}), or lower gracePeriodMs`
}
