import type { CheckSummary } from './checks.js'
import type { Readiness, State } from './types.js'

/** States in the only order they may take. */
export const STATES: readonly State[] = ['starting', 'running', 'draining', 'cleaning', 'persisting', 'stopped']

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
