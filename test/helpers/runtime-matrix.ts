/**
 * The conformance suite's wire scenarios (../conformance/suite.ts) for the fastify, express and
 * node:http doors on one runtime, installed first if missing (CI starts with Node 20 only).
 *
 * `pnpm test` runs CI_SCENARIOS, the same every run; `pnpm test:runtimes` (GRACEFUL_RUNTIME_MATRIX=full)
 * runs every wire scenario.
 */
import { installRuntimes, type RuntimeName } from '../../scripts/runtimes.mjs'
import { conformance, type Scenario, WIRE_SCENARIOS } from '../conformance/suite.js'

const DOORS = { fastify: 'fastify.mjs', express: 'express5.mjs', 'node:http': 'node-http.mjs' } as const

/**
 * Per door, one scenario of probes or signals, one of the drain, and where the runtimes differ most,
 * the listener close (the connect storm, a connection made just before the close), chosen to keep
 * the matrix within CI's time.
 */
const CI_SCENARIOS: Record<keyof typeof DOORS, Scenario[]> = {
  fastify: ['connect-storm', 'probes-pre-stop', 'connected-before-close'],
  express: ['idle-after-response', 'second-signal', 'connected-before-close'],
  'node:http': ['long-lived', 'stuck-request', 'connected-before-close']
}

export async function runtimeMatrix (runtime: RuntimeName): Promise<void> {
  await installRuntimes([runtime])
  const full = process.env.GRACEFUL_RUNTIME_MATRIX === 'full'
  for (const [door, app] of Object.entries(DOORS) as Array<[keyof typeof DOORS, string]>) {
    conformance(
      { name: `${door} on ${runtime}`, app: new URL(`../fixtures/apps/${app}`, import.meta.url), runtime },
      { scenarios: full ? WIRE_SCENARIOS : CI_SCENARIOS[door] }
    )
  }
}
