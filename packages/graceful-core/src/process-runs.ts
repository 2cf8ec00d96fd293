/**
 * Every coordinator's run in the process, and the one exit at their end. An application may hold
 * several coordinators (a public API and an admin port, each its own fastify app): one signal starts
 * them all, and the process must not exit when the first of them is done, or the others' in-flight
 * requests are reset and their persist hooks never run. So a run that wants to end the process
 * waits here until no run is under way, then the process exits once, with the worst exit code of
 * the runs that ended meanwhile. Each run flushed its own logger before it arrived.
 * @module
 */
import type { Logger } from './types.js'

interface ProcessRuns {
  /** Runs under way, by coordinator. */
  readonly underWay: Set<object>
  /** The worst exit code of the runs that ended since the process last had none under way. */
  worst: number | undefined
  /** The exit of the first run that asked to end the process, with its logger. */
  exit: { readonly exit: (code: number) => void, readonly logger: Logger } | undefined
}

// Shared by every copy of graceful-core in the process (the ESM and CJS builds, two versions): the
// shape is a contract between versions, only ever add to it.
const kProcessRuns = Symbol.for('graceful-core.process-runs')
const shared = globalThis as { [kProcessRuns]?: ProcessRuns }
const runs = shared[kProcessRuns] ??= { underWay: new Set(), worst: undefined, exit: undefined }

/** How bad an exit code is: 0 (clean), then 128 + a signal's number (clean, said as the signal), then any failure. */
function severity (code: number): number {
  if (code === 0) return 0
  return code > 128 ? 1 : 2
}

/** The worse of two exit codes. */
export function worseExitCode (a: number | undefined, b: number): number {
  return a === undefined || severity(b) > severity(a) ? b : a
}

/** A coordinator's run began. */
export function runStarted (coordinator: object): void {
  runs.underWay.add(coordinator)
}

/**
 * A coordinator's run ended with `code`; `exit` is given when this run is to end the process. The
 * process exits when no other run is under way; until then the exit waits, and is said to.
 */
export function runEnded (coordinator: object, code: number, exit: ((code: number) => void) | undefined, logger: Logger): void {
  runs.underWay.delete(coordinator)
  runs.worst = worseExitCode(runs.worst, code)
  if (exit !== undefined) runs.exit ??= { exit, logger }
  if (runs.underWay.size > 0) {
    if (exit !== undefined) {
      logger.info({ exitCode: code, coordinatorsRunning: runs.underWay.size },
        `shutdown done; the process exits once the ${runs.underWay.size} other graceful coordinator(s) in this process finished theirs`)
    }
    return
  }
  const pending = runs.exit
  const worst = runs.worst
  runs.exit = undefined
  runs.worst = undefined
  if (pending === undefined) return
  try {
    pending.exit(worst)
  } catch (error) {
    pending.logger.error({ err: error }, 'the exit function threw')
  }
}

/** Which coordinator drains each server, shared like the runs. */
const kServerOwners = Symbol.for('graceful-core.server-owners')
const owners = (globalThis as { [kServerOwners]?: WeakMap<object, object> })[kServerOwners] ??= new WeakMap()

/**
 * Records that `coordinator` drains `server`. Returns false when another coordinator already does:
 * two coordinators draining one server would each close its listener and destroy the other's
 * connections at their own deadline.
 */
export function claimServer (server: object, coordinator: object): boolean {
  const owner = owners.get(server)
  if (owner !== undefined && owner !== coordinator) return false
  owners.set(server, coordinator)
  return true
}

/** The coordinator stopped: its servers can be drained by another one (a new coordinator in a test, say). */
export function releaseServer (server: object, coordinator: object): void {
  if (owners.get(server) === coordinator) owners.delete(server)
}
