/**
 * PM2's kill deadline. PM2 sends SIGINT (or the message `'shutdown'`) and SIGKILLs the process
 * `kill_timeout` ms later: 1600 ms unless the app's configuration says otherwise. PM2 puts
 * `kill_timeout` in the app's environment only when it is configured.
 * @module
 */

/** PM2's default kill_timeout (ms). */
export const PM2_DEFAULT_KILL_TIMEOUT_MS = 1600

/** When PM2 kills this process after its stop signal; undefined when PM2 did not start it. */
export interface Pm2KillTimeout {
  readonly ms: number
  /** False when it is PM2's default (the app's configuration does not set kill_timeout). */
  readonly configured: boolean
}

export function pm2KillTimeout (env: NodeJS.ProcessEnv): Pm2KillTimeout | undefined {
  if (env.pm_id === undefined || env.pm_id === '') return undefined
  const raw = Number(env.kill_timeout)
  const configured = Number.isFinite(raw) && raw > 0
  return { ms: configured ? raw : PM2_DEFAULT_KILL_TIMEOUT_MS, configured }
}
