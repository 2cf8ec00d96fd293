/**
 * The JavaScript runtime graceful runs on, and what it lacks of what the drain relies on. A Node.js
 * below 20.3 is refused at creation (graceful uses AbortSignal.any() and Node's
 * closeIdleConnections()); Bun and Deno run node:http servers through their own layers, which the
 * drain handles but where the listener cannot be closed as cleanly as on Node (README, "Runtimes"):
 * that is warned of when the first node:http server is added.
 * @module
 */
import { GracefulRuntimeError } from '../errors.js'

export interface Runtime {
  readonly name: 'node' | 'bun' | 'deno'
  /** Its own version (`1.4.5` for Bun), not the Node.js version it emulates. */
  readonly version: string
}

/** The oldest Node.js graceful runs on, [major, minor] (the package.json `engines`: AbortSignal.any() came in 20.3). */
export const MIN_NODE: readonly [number, number] = [20, 3]

type Versions = Readonly<Record<string, string | undefined>>

export function detectRuntime (versions: Versions = process.versions): Runtime {
  if (versions.bun !== undefined) return { name: 'bun', version: versions.bun }
  if (versions.deno !== undefined) return { name: 'deno', version: versions.deno }
  return { name: 'node', version: versions.node ?? 'unknown' }
}

/** The error for a runtime graceful cannot run on, naming what is missing; undefined when it can. */
export function unsupportedRuntime (runtime: Runtime): GracefulRuntimeError | undefined {
  if (runtime.name !== 'node') return undefined
  const [major = 0, minor = 0] = runtime.version.split('.').map(Number)
  if (major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])) return undefined
  return new GracefulRuntimeError(`Node.js ${runtime.version} is not supported: graceful needs Node.js ${MIN_NODE.join('.')} or later (AbortSignal.any(), server.closeIdleConnections())`)
}

/** What does not hold on this runtime, one warning each (none on Node.js). */
export function runtimeWarnings (runtime: Runtime): string[] {
  switch (runtime.name) {
    case 'bun':
      return [`Bun ${runtime.version}: its node:http servers have no listening handle (server._handle) whose backlog graceful could lower, and their close() resets the connections still queued and those that have not sent a request yet: clients that connect while the listener closes can see ECONNRESET. Requests in flight, keep-alive clients, long-lived connections and probes drain as on Node.js; run on Node.js where new connections must never be reset`]
    case 'deno':
      return [`Deno ${runtime.version}: its node:http listening handle keeps its backlog when graceful lowers it, so the listener closes after a quiet moment and resets the connections still queued then: clients that connect while it closes can see ECONNRESET. Requests in flight, keep-alive clients, long-lived connections and probes drain as on Node.js; run on Node.js where new connections must never be reset`]
    default:
      return []
  }
}
