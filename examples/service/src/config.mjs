/**
 * Every setting of the example service comes from the environment, so the same image runs on a
 * laptop, in the demo and in Kubernetes (see docker/k8s/deployment.yaml for the production values).
 *
 * | variable                          | default             | meaning                                        |
 * |-----------------------------------|---------------------|------------------------------------------------|
 * | PORT                              | 3000                | TCP port; 0 picks a free one                   |
 * | HOST                              | 0.0.0.0             | listen address                                 |
 * | DB_PATH                           | ./data/service.db   | SQLite file (created with its folder)          |
 * | PRESTOP_DELAY_MS                  | core default        | minimum time serving while /ready answers 503  |
 * | PRESTOP_QUIET_MS                  | core default        | pre-stop ends after this long without traffic  |
 * | PRESTOP_MAX_MS                    | core default        | upper bound of the pre-stop window             |
 * | GRACE_PERIOD_MS                   | core default (30 s) | whole budget from signal to exit               |
 * | HOOK_TIMEOUT_MS                   | 3000                | timeout of each cleanup / persist hook         |
 * | TERMINATION_GRACE_PERIOD_SECONDS  | unset               | the platform's hard kill deadline (checked)    |
 * | JOB_MS                            | 200                 | how long the worker spends on one job          |
 * | SLOW_MS                           | 1000                | default delay of GET /slow                     |
 * | STARTUP_MS                        | 0                   | job queue warm-up: /ready answers 503 until done |
 * | LOG_LEVEL                         | info                | logger level                                   |
 * | LOG_REQUESTS                      | true                | fastify: one log line per request              |
 *
 * "core default" means the option is left out and graceful-core picks its own value (which differs
 * under Kubernetes, see DESIGN.md). HOOK_TIMEOUT_MS defaults lower than graceful-core's 5 s: the
 * service runs four hooks (three of its own, one of fastify-graceful) and the core reserves at most
 * half of the grace period for hooks, warning when their timeouts add up to more.
 * @module
 */

import { fileURLToPath } from 'node:url'

/** 4 hooks × 3 s fit in half of the default 30 s grace period. */
const DEFAULT_HOOK_TIMEOUT_MS = 3000

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {string} name
 * @returns {number | undefined}
 */
function intFromEnv (env, name) {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return undefined
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`)
  }
  return value
}

/**
 * Reads the service's settings.
 * @param {NodeJS.ProcessEnv} [env]
 */
export function loadConfig (env = process.env) {
  /** Coordinator options; unset variables are left out so graceful-core's defaults apply. */
  const graceful = /** @type {Record<string, number>} */ ({})
  const map = {
    preStopDelayMs: 'PRESTOP_DELAY_MS',
    preStopQuietMs: 'PRESTOP_QUIET_MS',
    preStopMaxMs: 'PRESTOP_MAX_MS',
    gracePeriodMs: 'GRACE_PERIOD_MS',
    hookTimeoutMs: 'HOOK_TIMEOUT_MS'
  }
  for (const [option, name] of Object.entries(map)) {
    const value = intFromEnv(env, name)
    if (value !== undefined) graceful[option] = value
  }
  graceful.hookTimeoutMs ??= DEFAULT_HOOK_TIMEOUT_MS
  const terminationSeconds = intFromEnv(env, 'TERMINATION_GRACE_PERIOD_SECONDS')
  if (terminationSeconds !== undefined) graceful.terminationGracePeriodMs = terminationSeconds * 1000

  return {
    port: intFromEnv(env, 'PORT') ?? 3000,
    host: env.HOST || '0.0.0.0',
    dbPath: env.DB_PATH || fileURLToPath(new URL('../data/service.db', import.meta.url)),
    jobMs: intFromEnv(env, 'JOB_MS') ?? 200,
    slowMs: intFromEnv(env, 'SLOW_MS') ?? 1000,
    startupMs: intFromEnv(env, 'STARTUP_MS') ?? 0,
    logLevel: env.LOG_LEVEL || 'info',
    logRequests: !['0', 'false', 'no'].includes((env.LOG_REQUESTS ?? '').toLowerCase()),
    graceful
  }
}
