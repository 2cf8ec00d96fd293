import type { Readiness } from './types.js'

/** The path of a request URL, without its query string. */
export function pathOf (url: string | undefined): string {
  const target = url ?? ''
  const query = target.indexOf('?')
  return query === -1 ? target : target.slice(0, query)
}

export type ProbeKind = 'health' | 'ready'

export interface ProbeAnswer {
  statusCode: 200 | 503
  headers: Record<string, string>
  body: Readiness
}

/**
 * What a probe route answers. Liveness stays 200 while draining (a failing liveness probe makes
 * Kubernetes kill the pod mid-drain); readiness answers 503 whenever the instance is not ready.
 * Never cached.
 */
export function probeAnswer (kind: ProbeKind, readiness: Readiness): ProbeAnswer {
  return {
    statusCode: kind === 'health' || readiness.ready ? 200 : 503,
    headers: { 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8' },
    body: readiness
  }
}
