/**
 * Public types of graceful-core. Everything here is plain data or a function signature, so a
 * report can be logged or sent as JSON as it is.
 * @module
 */

/** The coordinator's lifecycle, one way only: running → draining → cleaning → persisting → stopped. */
export type State = 'running' | 'draining' | 'cleaning' | 'persisting' | 'stopped'

/** How one hook ended; `skipped` when a second signal forced the exit before it could run. */
export type HookOutcome = 'ok' | 'error' | 'timeout' | 'skipped'

/** Why the pre-stop window ended. */
export type PreStopEnd = 'fixed' | 'quiet' | 'max' | 'forced'

/** A pino-compatible logger: object first, then a short message. */
export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  /** pino >= 8.16: flushes buffered output; awaited (bounded) before the process exits. */
  flush?(cb?: (err?: Error | null) => void): void
}

export interface GracefulOptions {
  /** Signals that start a shutdown; a second one while stopping forces. `[]` installs none. */
  signals?: readonly NodeJS.Signals[]
  /**
   * Minimum time in `draining` while real traffic is still served (readiness already answers 503),
   * so the load balancer can take the instance out. Default 0, or 1000 under Kubernetes.
   */
  preStopDelayMs?: number
  /**
   * Pre-stop ends early once no new connection or request (probes excluded) arrived for this long,
   * after `preStopDelayMs`. 0 turns traffic awareness off: the window is exactly `preStopDelayMs`.
   * Default 0, or 1000 under Kubernetes.
   */
  preStopQuietMs?: number
  /** Upper bound of the pre-stop window when `preStopQuietMs` > 0. Default 15000 under Kubernetes. */
  preStopMaxMs?: number
  /** The whole budget from signal to exit. Default 30000. */
  gracePeriodMs?: number
  /** Default timeout of each cleanup and persist hook. Default 5000. */
  hookTimeoutMs?: number
  /**
   * The platform's hard kill deadline (Kubernetes `terminationGracePeriodSeconds` × 1000). When set,
   * or when `TERMINATION_GRACE_PERIOD_SECONDS` is in the environment, a warning is logged at start-up
   * when `gracePeriodMs` does not fit inside it.
   */
  terminationGracePeriodMs?: number
  /**
   * `true` (default) sets `process.exitCode` and exits after the logger flushed; `false` leaves the
   * process alone (tests, embedding); a function is called with the exit code instead.
   */
  exit?: boolean | ((code: number) => void)
  /** Exit with 128 + signal number (143 for SIGTERM) instead of 0 after a clean signal-started run. */
  exitWithSignalCode?: boolean
  /** Liveness route: 200 with the status JSON, also while draining. `false` disables it. Default '/health'. */
  healthPath?: string | false
  /** Readiness route: 200 when ready, 503 while starting, unavailable or shutting down. `false` disables it. Default '/ready'. */
  readyPath?: string | false
  /** More request paths that are health probes, not traffic (they do not keep pre-stop open); the probe routes always are. */
  probePaths?: readonly string[]
  /** pino-compatible logger; `false` for none. Default: JSON lines on stdout/stderr. */
  logger?: Logger | false
}

export interface HookOptions {
  /** Per-hook timeout; default `hookTimeoutMs`. */
  timeoutMs?: number
}

export interface CleanupOptions extends HookOptions {
  /**
   * Run this cleanup after the persist phase instead of before it, for resources that
   * persistence still needs (a database connection). These run in reverse registration order too.
   */
  afterPersist?: boolean
}

/** A hook gets an AbortSignal that aborts when its timeout (or a forcing signal) cuts it. */
export type Hook = (signal: AbortSignal) => unknown

/** A tracked task: a promise, or a function started at once with the shutdown signal. */
export type Task = PromiseLike<unknown> | ((signal: AbortSignal) => PromiseLike<unknown>)

export interface Readiness {
  status: 'healthy' | 'draining' | 'stopped'
  ready: boolean
}

export interface ErrorInfo {
  name: string
  message: string
  code?: string
}

export interface HookReport {
  name: string
  phase: 'cleanup' | 'persist'
  outcome: HookOutcome
  durationMs: number
  error?: ErrorInfo
}

export interface ShutdownReport {
  /** The signal name, or the reason given to `shutdown()`. */
  reason: string
  startedAt: string
  endedAt: string
  durationMs: number
  exitCode: number
  /** True when a second signal cut the run short. */
  forced: boolean
  /** The phase that was running when a second signal forced the exit. */
  forcedDuring?: State
  phases: {
    preStop: { durationMs: number; endedBy: PreStopEnd; requests: number }
    /** `listenerClosedAtMs`: when the listeners closed, counted from the signal (after pre-stop and the accept queue emptied). */
    drain: { durationMs: number; listenerClosedAtMs: number }
    cleanup: { durationMs: number }
    persist: { durationMs: number }
  }
  requests: { inFlightAtSignal: number; completedDuringDrain: number }
  sockets: { closedIdle: number; closedAfterResponse: number; forced: number }
  tasks: { finished: number; failed: number; aborted: number }
  hooks: HookReport[]
  /** Uncaught exceptions and unhandled rejections seen while shutting down. */
  faults: ErrorInfo[]
}
