/**
 * The one ShutdownReport fixture of the tests (core and root): typed against ShutdownReport, so a
 * change of the report's shape fails the type-check here, not silently in a copy.
 */
import type { HookReport, ShutdownReport } from '../../src/types.js'

export const STARTED_AT = '2026-12-01T10:00:00.000Z'

/** A hook that ran from `startMs` for `durationMs` (both from the signal), outcome ok unless given. */
export function hookReport (name: string, phase: HookReport['phase'], startMs: number, durationMs: number, more: Partial<HookReport> = {}): HookReport {
  return { name, phase, outcome: 'ok', startMs, durationMs, ...more }
}

/**
 * A clean run of 1 s, every moment from the signal: pre-stop 0–400 ms, drain 400–700, cleanup
 * 700–800 (hooks queue 60 ms, then cache 40), persist 800–900 (hook state), after-persist cleanup
 * 900–950 (hook db); the report ends at 1000. Hooks in the order the report lists them.
 */
export function sampleReport (overrides: Partial<ShutdownReport> = {}): ShutdownReport {
  return {
    reason: 'SIGTERM',
    startedAt: STARTED_AT,
    endedAt: '2026-12-01T10:00:01.000Z',
    durationMs: 1000,
    exitCode: 0,
    forced: false,
    phases: {
      preStop: { startMs: 0, durationMs: 400, endedBy: 'fixed', requests: 12, configuredMs: 400, effectiveMs: 400 },
      drain: { startMs: 400, durationMs: 300, listenerClosedAtMs: 402, listenerClosedBy: 'graceful', acceptedWhileClosing: 0 },
      cleanup: { startMs: 700, durationMs: 100 },
      persist: { startMs: 800, durationMs: 100 },
      afterPersist: { startMs: 900, durationMs: 50 }
    },
    requests: { inFlightAtSignal: 3, completedAfterSignal: 15 },
    probes: { answered: 4 },
    sockets: { closedIdle: 7, closedAfterResponse: 4, destroyed: 1 },
    tasks: { finished: 1, failed: 0, aborted: 0 },
    longLived: { streamsEnded: 2, webSocketsClosed: 5, webSocketsTerminated: 1, closeCodes: { 1012: 4, 1000: 1 }, spreadMs: 1000, held: 0, holdsExpired: 0 },
    hooks: [
      hookReport('queue', 'cleanup', 700, 60),
      hookReport('cache', 'cleanup', 760, 40),
      hookReport('state', 'persist', 800, 100),
      hookReport('db', 'afterPersist', 900, 50)
    ],
    startup: { ready: true, durationMs: 20, tasks: [] },
    faults: [],
    ...overrides
  }
}
