import type { CheckSet, CheckSummary } from './checks.js'
import { invalid } from './validate.js'
import type { Lifecycle } from './lifecycle.js'
import type { ResolvedOptions } from './options.js'
import type { Logger, Readiness, State } from './types.js'

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

/** The parts of a node:http (or http2 compatibility) request and response a probe needs. */
export interface ProbeRequest { readonly method?: string | undefined, readonly url?: string | undefined }
export interface ProbeResponse {
  readonly headersSent: boolean
  writeHead (statusCode: number, headers?: Record<string, string | number>): unknown
  end (body?: string): unknown
}

/**
 * What the readiness probe says in each state; while running, the readiness checks' summary (when
 * any is registered) decides. The body reveals nothing else: check names and outcomes, no errors.
 */
export function readinessOf (state: State, checks?: CheckSummary): Readiness {
  if (state === 'starting') return { status: 'starting', ready: false }
  if (state === 'running' && checks !== undefined) return { status: checks.status, ready: checks.status !== 'unavailable', checks: checks.outcomes }
  if (state === 'running') return { status: 'healthy', ready: true }
  if (state === 'stopped') return { status: 'stopped', ready: false }
  return { status: 'draining', ready: false }
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

/** Which probe a request is for: GET or HEAD on one of the probe routes (query strings ignored), else undefined. */
export function probeKindOf (method: string | undefined, url: string | undefined, routes: Readonly<Record<ProbeKind, string | false>>): ProbeKind | undefined {
  if (method !== 'GET' && method !== 'HEAD') return undefined
  const path = pathOf(url)
  return path === routes.health ? 'health' : path === routes.ready ? 'ready' : undefined
}

/** Writes a probe's answer on a node:http response (no body for HEAD); an answer that failed becomes a logged 500. */
export function respondToProbe (req: ProbeRequest, res: ProbeResponse, answer: Promise<ProbeAnswer>, logger: Logger): void {
  answer.then((answer) => {
    const body = JSON.stringify(answer.body)
    res.writeHead(answer.statusCode, { ...answer.headers, 'content-length': Buffer.byteLength(body) })
    res.end(req.method === 'HEAD' ? undefined : body)
  }).catch((error: unknown) => {
    logger.error({ err: error, url: req.url }, 'probe failed to answer')
    if (!res.headersSent) res.writeHead(500)
    res.end()
  })
}

/** What the probes need of the coordinator: its probe paths, logger, checks and lifecycle. */
export interface ProbesParts {
  readonly options: Pick<ResolvedOptions, 'healthPath' | 'readyPath' | 'probePaths' | 'logger'>
  readonly checks: CheckSet
  readonly lifecycle: Lifecycle
}

/** The probe API of a coordinator (`readiness()`, `probe()`, `probeKind()`, `handleProbe()`, `probeRoutes`). */
export class Probes {
  readonly routes: Readonly<Record<ProbeKind, string | false>>
  readonly #parts: ProbesParts

  constructor (parts: ProbesParts) {
    this.#parts = parts
    this.routes = { health: parts.options.healthPath, ready: parts.options.readyPath }
  }

  /** Ready only while running and no critical check failed at its last run. */
  readiness (): Readiness {
    const { checks, lifecycle } = this.#parts
    return readinessOf(lifecycle.state, checks.size > 0 ? checks.summary() : undefined)
  }

  async answer (kind: ProbeKind): Promise<ProbeAnswer> {
    if (kind !== 'health' && kind !== 'ready') throw invalid('probe(kind)', "'health' or 'ready'", kind)
    const { checks, lifecycle } = this.#parts
    // Liveness never depends on a dependency; readiness checks run only while running.
    if (kind === 'health') return probeAnswer(kind, readinessOf(lifecycle.state))
    if (lifecycle.state === 'running' && checks.size > 0) await checks.refresh(lifecycle.shutdown.signal)
    return probeAnswer(kind, this.readiness())
  }

  kindOf (method: string | undefined, url: string | undefined): ProbeKind | undefined {
    return probeKindOf(method, url, this.routes)
  }

  /** Answers a probe request on a node:http response and returns true; false for any other request. */
  handle (req: ProbeRequest, res: ProbeResponse): boolean {
    const kind = this.kindOf(req.method, req.url)
    if (kind === undefined) return false
    respondToProbe(req, res, this.answer(kind), this.#parts.options.logger)
    return true
  }

  /** True for a request to a probe path (`probePaths`): never counted as a request, nor as traffic. */
  isProbePath (url: string | undefined): boolean {
    return this.#parts.options.probePaths.has(pathOf(url))
  }
}
