import { EventEmitter } from 'node:events'
import { publishState } from './observe/channels.js'
import type { Logger, ShutdownPhase, ShutdownReport, State } from './types.js'

export interface GracefulEvents {
  state: [State]
  report: [ShutdownReport]
}

/**
 * Where a coordinator is in its life, shared by its parts (probes, servers, the run): the state and
 * its events, why the shutdown began, and the three moments every wait listens to. A part reads it;
 * only the coordinator and its run change it.
 */
export class Lifecycle {
  state: State = 'starting'
  /** Why the shutdown began (a signal's name, or the caller's reason). */
  reason: string | undefined
  /** Aborted when shutdown begins (`graceful.signal`). */
  readonly shutdown = new AbortController()
  /** Aborted when the drain begins (`graceful.drainSignal`). */
  readonly drain = new AbortController()
  /** Aborted by a second signal: every remaining wait is skipped. */
  readonly force = new AbortController()
  /** The phase of the pipeline under way (set by the run). */
  phase: ShutdownPhase | undefined
  /** The phase a second signal cut. */
  forcedDuring: ShutdownPhase | undefined
  /** Set by a signal: only a signal-started (or signal-joined) run ends the process. */
  exitWhenStopped = false
  readonly events = new EventEmitter<GracefulEvents>()
  readonly #logger: Logger

  constructor (logger: Logger) {
    this.#logger = logger
  }

  /** True until shutdown began: what registrations are open for. */
  get serving (): boolean {
    return this.state === 'starting' || this.state === 'running'
  }

  /** Moves to `state`, and tells the diagnostics channel and the 'state' listeners. */
  setState (state: State, from = this.state): void {
    this.state = state
    publishState(from, state, this.reason ?? 'started')
    this.emit('state', state)
  }

  /** A throwing listener is logged, never allowed to break the pipeline. */
  emit<E extends keyof GracefulEvents> (event: E, ...value: GracefulEvents[E]): void {
    try {
      (this.events.emit as (event: E, ...value: GracefulEvents[E]) => boolean)(event, ...value)
    } catch (error) {
      this.#logger.error({ err: error, event }, 'a graceful event listener threw')
    }
  }
}
