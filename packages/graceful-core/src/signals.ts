import type { Lifecycle } from './lifecycle.js'
import { foreignSignalListeners } from './process-events.js'
import { PHASE_LABELS } from './report.js'
import type { Logger, ShutdownPhase } from './types.js'

/**
 * Copies of one signal that arrive this close together are one event (a process group and a
 * supervisor both delivering it), not a user asking to force.
 */
const DUPLICATE_SIGNAL_WINDOW_MS = 100

/**
 * What a signal means: `start` the shutdown; a `duplicate` of the first (or a signal while no run
 * can be forced yet); a `foreign-resend` (another handler finished and signalled the process again);
 * `force` (a second signal from a user: skip the remaining waits).
 */
export type SignalMeaning = 'start' | 'duplicate' | 'foreign-resend' | 'force'

/**
 * The signal rule. The first signal starts the run (or joins one started by code). A later one
 * forces, unless it is a copy of the first within DUPLICATE_SIGNAL_WINDOW_MS, or a foreign handler's
 * re-send: fewer other listeners than at the first signal means one removed itself, and such a
 * handler re-raises the signal once its own close is done (NestJS enableShutdownHooks()).
 */
export class SignalPolicy {
  readonly #logger: Logger
  #seen = 0
  #firstAt = 0
  #foreignAtFirst = 0
  #forced = false

  constructor (logger: Logger, signals: readonly NodeJS.Signals[]) {
    this.#logger = logger
    for (const signal of signals) this.#warnOfForeignListeners(signal, 'at start-up')
  }

  /**
   * Decides what `signal` means (a signal's name, or a process manager's `'shutdown'` message, which
   * counts as one), given whether a run is under way, and logs what is not obvious from the outcome.
   */
  receive (signal: string, running: boolean, phase: ShutdownPhase): SignalMeaning | undefined {
    const now = performance.now()
    const foreign = foreignSignalListeners(signal)
    this.#seen++
    if (this.#seen === 1) {
      this.#firstAt = now
      this.#foreignAtFirst = foreign
      this.#warnOfForeignListeners(signal, 'as the signal arrived')
    }
    if (!running) return 'start'
    if (this.#seen === 1 || now - this.#firstAt < DUPLICATE_SIGNAL_WINDOW_MS) {
      this.#logger.info({ signal }, 'signal received while already shutting down; continuing')
      return 'duplicate'
    }
    if (foreign < this.#foreignAtFirst) {
      this.#logger.warn({ signal }, `${signal} sent again after another ${signal} handler finished and removed itself; not treated as a second signal`)
      return 'foreign-resend'
    }
    if (this.#forced) return undefined
    this.#forced = true
    this.#logger.error({ signal, phase }, `second ${signal}: forcing exit, cutting the ${PHASE_LABELS[phase]} phase`)
    return 'force'
  }

  #warnOfForeignListeners (signal: string, when: string): void {
    const count = foreignSignalListeners(signal)
    if (count === 0) return
    this.#logger.warn({ signal, listeners: count },
      `${count} other ${signal} listener(s) installed ${when}: they run alongside graceful's and usually close the server or exit before the pre-stop window and the drain; ` +
      'remove them (a framework\'s own shutdown hooks, such as NestJS app.enableShutdownHooks()), or start graceful with signals: [] and call shutdown() from your own handler')
  }
}

/**
 * What a signal, or a process manager's `'shutdown'` message, does to a coordinator: its run ends
 * the process; the first starts the run (`start`), a later one that means force cuts the remaining
 * waits of the phase under way.
 */
export function signalHandler (policy: SignalPolicy, lifecycle: Lifecycle, running: () => boolean, start: (signal: string) => void): (signal: string) => void {
  return (signal) => {
    lifecycle.exitWhenStopped = true
    const phase = lifecycle.phase ?? 'preStop'
    const meaning = policy.receive(signal, running(), phase)
    if (meaning === 'start') {
      start(signal)
    } else if (meaning === 'force') {
      lifecycle.forcedDuring = phase
      lifecycle.force.abort()
    }
  }
}
