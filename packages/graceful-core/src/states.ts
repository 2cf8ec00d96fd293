import type { Readiness, State } from './types.js'

/** States in the only order they may take. */
export const STATES: readonly State[] = ['running', 'draining', 'cleaning', 'persisting', 'stopped']

/** What the readiness probe says in each state. The body reveals nothing else. */
export function readinessOf (state: State): Readiness {
  if (state === 'running') return { status: 'healthy', ready: true }
  if (state === 'stopped') return { status: 'stopped', ready: false }
  return { status: 'draining', ready: false }
}
