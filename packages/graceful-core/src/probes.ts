import { invalid } from './errors.js'
import type { GracefulOptions, Readiness } from './types.js'

/** Options every adapter adds to the core's: where the probe routes live. */
export interface ProbeOptions {
  /** Liveness route: 200 with the status JSON, also while draining. `false` disables it. Default '/health'. */
  healthPath?: string | false
  /** Readiness route: 200 when running, 503 from the first millisecond of shutdown. `false` disables it. Default '/ready'. */
  readyPath?: string | false
}

export interface ResolvedProbes {
  readonly healthPath: string | false
  readonly readyPath: string | false
  /** The core options, with the probe routes added to `probePaths` so they do not count as traffic. */
  readonly core: GracefulOptions
}

function checkPath (option: string, value: unknown, fallback: string): string | false {
  if (value === undefined) return fallback
  if (value === false || (typeof value === 'string' && value.startsWith('/') && !value.includes('?'))) return value
  throw invalid(option, "a path starting with '/' (no query string) or false", value)
}

/** Splits an adapter's options into probe routes and core options; validates both at registration. */
export function resolveProbeOptions (options: unknown = {}): ResolvedProbes {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object', options)
  const { healthPath, readyPath, ...core } = options as ProbeOptions & GracefulOptions
  const health = checkPath('healthPath', healthPath, '/health')
  const ready = checkPath('readyPath', readyPath, '/ready')
  if (health !== false && health === ready) throw invalid('readyPath', 'different from healthPath', ready)
  const probePaths = [...(core.probePaths ?? []), ...[health, ready].filter((p): p is string => p !== false)]
  return { healthPath: health, readyPath: ready, core: { ...core, probePaths } }
}

/** The path of a request URL, without its query string. */
export function pathOf (url: string | undefined): string {
  const target = url ?? ''
  const query = target.indexOf('?')
  return query === -1 ? target : target.slice(0, query)
}

export interface ProbeAnswer {
  statusCode: 200 | 503
  headers: Record<string, string>
  body: Readiness
}

/**
 * What a probe route answers. Liveness stays 200 while draining (a failing liveness probe makes
 * Kubernetes kill the pod mid-drain); readiness answers 503 as soon as shutdown begins. Never cached.
 */
export function probeAnswer (kind: 'health' | 'ready', readiness: Readiness): ProbeAnswer {
  return {
    statusCode: kind === 'health' || readiness.ready ? 200 : 503,
    headers: { 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8' },
    body: readiness
  }
}
