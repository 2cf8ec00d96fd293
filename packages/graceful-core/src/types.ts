/**
 * Public types of graceful-core. Everything here is plain data or a function signature, so a
 * report can be logged or sent as JSON as it is.
 * @module
 */

/** The coordinator's lifecycle, one way only: starting → running → draining → cleaning → persisting → stopped. */
/** A phase of the shutdown pipeline, as `ShutdownReport.phases` names it. */
export type ShutdownPhase = 'preStop' | 'drain' | 'cleanup' | 'persist' | 'afterPersist'

export type State = 'starting' | 'running' | 'draining' | 'cleaning' | 'persisting' | 'stopped'

/** How one hook ended; `skipped` when a second signal forced the exit before it could run. */
export type HookOutcome = 'ok' | 'error' | 'timeout' | 'skipped'

/**
 * Why the pre-stop window ended: `fixed` after preStopDelayMs; `quiet` when traffic stopped; `max`
 * at preStopMaxMs; `budget` at the longest gracePeriodMs allows (shorter than configured); `forced`
 * by a second signal.
 */
export type PreStopEnd = 'fixed' | 'quiet' | 'max' | 'budget' | 'forced'

/** A pino-compatible logger: object first, then a short message. */
export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  /** pino >= 8.16: flushes buffered output; awaited (bounded) before the process exits. */
  flush?(cb?: (err?: Error | null) => void): void
}

export interface GracefulOptions {
  /**
   * Signals that start a shutdown. A second one while stopping forces (remaining hooks, persist hooks
   * included, are skipped), unless it arrives within 100 ms of the first: that is a copy of the same
   * signal. `[]` installs none.
   */
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
  /**
   * Upper bound of the pre-stop window when `preStopQuietMs` > 0. Default: the larger of
   * `preStopDelayMs` and 15000 when `preStopQuietMs` > 0 (so under Kubernetes), else `preStopDelayMs`.
   */
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
   * What ends a run that a signal started: `true` (default) sets `process.exitCode` and exits after
   * the logger flushed; `false` leaves the process alone; a function is called with the exit code
   * instead. A run started by code (`shutdown()`, fastify's `app.close()`) never exits: it resolves
   * with the report and the caller goes on.
   */
  exit?: boolean | ((code: number) => void)
  /** Exit with 128 + signal number (143 for SIGTERM) instead of 0 after a clean signal-started run. */
  exitWithSignalCode?: boolean
  /** Liveness route: 200 with the status JSON, also while draining. `false` disables it. Default '/health'. */
  healthPath?: string | false
  /** Readiness route: 200 when ready, 503 while starting, unavailable or shutting down. `false` disables it. Default '/ready'. */
  readyPath?: string | false
  /**
   * More request paths that are health probes, not traffic, such as `['/metrics']`: exact paths
   * (the query is ignored), each starting with '/'. Requests to them never keep pre-stop open and are
   * counted as `probes.answered`, not as requests. graceful does not answer them: the application
   * does. `healthPath` and `readyPath` are always probes.
   */
  probePaths?: readonly string[]
  /**
   * The longest startup may take: a startup task still pending this long after the coordinator was
   * created fails startup (logged by name; the shutdown pipeline runs and the process exits 1).
   * Default 60000.
   */
  startupTimeoutMs?: number
  /**
   * Where graceful logs: a pino-compatible or console-like logger (`info`/`warn`/`error` taking an
   * object, then a message), a message-first logger such as NestJS's `Logger` (`log`/`warn`/`error`),
   * or `false` for none. Default: JSON lines on stdout.
   */
  logger?: Logger | { log(message: string): void, warn(message: string): void, error(message: string): void } | false
  /** How the drain closes WebSockets (of `addWebSocketServer()`) and server-sent-event streams. */
  longLived?: LongLivedOptions
}

export interface LongLivedOptions {
  /**
   * The closes are sent in random order, in batches spread evenly over this window from the start of
   * the drain, so the clients' reconnects reach the remaining instances at an even rate (after a
   * stall of the event loop, the closes due meanwhile catch up at most 1.5 × the even rate in any
   * 100 ms, not in one burst, and the window does not stretch). 0 closes all at once. At most half of the drain time: a longer window is shortened (and warned of at
   * start-up, naming the values that would fit). Default 1000.
   */
  spreadMs?: number
  /**
   * The close code WebSockets get: 1012 "service restart" (default: reconnect, the service is
   * coming back), 1001 "going away", or any code a server may send (1000–1003, 1007–1014, 3000–4999).
   * Event streams get a `retry:` hint with jitter instead.
   */
  closeCode?: number
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

/**
 * A tracked task: a promise, or a function started at once with the shutdown signal (`graceful.signal`,
 * aborted when shutdown begins, so the work stops taking more); awaited during the drain.
 */
export type Task = PromiseLike<unknown> | ((signal: AbortSignal) => PromiseLike<unknown>)

/** Work the instance needs before it can serve: a promise, or a function started at once with a signal that aborts when shutdown begins. */
export type StartupTask = PromiseLike<unknown> | ((signal: AbortSignal) => PromiseLike<unknown>)

export interface StartupOptions {
  /** How long this task may take; default (and at most) what remains of `startupTimeoutMs`. */
  timeoutMs?: number
}

/** A readiness dependency check: a throw, a rejection or `false` is a failure. It gets a signal that aborts at its timeout. */
export type CheckFn = (signal: AbortSignal) => unknown

export interface CheckOptions {
  /** How long one run may take before it counts as `timeout`. Default 1000. */
  timeoutMs?: number
  /** How long a result is reused before a probe runs the check again. Default 1000. */
  cacheMs?: number
  /** `true` (default): failing makes readiness 503 `unavailable`; `false`: 200 `degraded`. */
  critical?: boolean
}

/** How a readiness check ended: its body shows only this, never the error. */
export type CheckOutcome = 'ok' | 'fail' | 'timeout'

export interface Readiness {
  status: 'starting' | 'healthy' | 'degraded' | 'unavailable' | 'draining' | 'stopped'
  ready: boolean
  /** Each readiness check's last outcome; present while running when any check is registered. */
  checks?: Record<string, CheckOutcome>
}

export interface StartupTaskReport {
  name: string
  /** `aborted`: shutdown began before it settled. */
  outcome: 'ok' | 'error' | 'timeout' | 'aborted'
  durationMs: number
}

export interface StartupReport {
  /** True when the instance reached `running`. */
  ready: boolean
  /** From creation until running, or until shutdown began when it never got there. */
  durationMs: number
  tasks: StartupTaskReport[]
}

export interface ErrorInfo {
  name: string
  message: string
  code?: string
}

/**
 * The phase a hook ran in: `cleanup` (before persistence), `persist`, or `afterPersist` (the
 * cleanups registered with `afterPersist`, and a door's own framework close).
 */
export type HookPhase = 'cleanup' | 'persist' | 'afterPersist'

export interface HookReport {
  name: string
  phase: HookPhase
  outcome: HookOutcome
  /** When the hook started, in milliseconds from the signal (as every `startMs` of the report). */
  startMs: number
  durationMs: number
  error?: ErrorInfo
}

/** When a phase started (milliseconds from the signal) and how long it ran. */
export interface PhaseTiming {
  startMs: number
  durationMs: number
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
  /** The phase that was running when a second signal forced the exit (a key of `phases`). */
  forcedDuring?: ShutdownPhase
  /**
   * The phases in the order they run, each with `startMs` (from the signal) and `durationMs`. A phase
   * that never ran (the pipeline failed before it) starts where the one before it ended and lasts 0 ms.
   */
  phases: {
    /**
     * `configuredMs`: the longest pre-stop configured (preStopDelayMs, or preStopMaxMs when
     * traffic-aware); `effectiveMs`: the longest gracePeriodMs allowed it (see the README's "Budget").
     * `requests`: requests that arrived during the window, probes excluded.
     */
    preStop: PhaseTiming & { endedBy: PreStopEnd; requests: number; configuredMs: number; effectiveMs: number }
    /**
     * `listenerClosedAtMs`: when the first listener stopped accepting, counted from the signal
     * (normally after pre-stop); `listenerClosedBy: 'other'` when something else closed it first
     * (another SIGTERM handler, such as NestJS `enableShutdownHooks()`). `acceptedWhileClosing`:
     * connections accepted between the start of the drain and the listener's close (each is served
     * like any other). Connects refused after the close never reach the server, so it cannot count them.
     */
    drain: PhaseTiming & { listenerClosedAtMs: number; listenerClosedBy: 'graceful' | 'other'; acceptedWhileClosing: number }
    /** The cleanup hooks registered without `afterPersist`. */
    cleanup: PhaseTiming
    persist: PhaseTiming
    /** The cleanup hooks registered with `afterPersist`, then a door's framework close. */
    afterPersist: PhaseTiming
  }
  /** Requests in flight at the signal, and completed from then on; probes are never counted here. */
  requests: { inFlightAtSignal: number; completedAfterSignal: number }
  /** Probe requests (`healthPath`, `readyPath`, `probePaths`) answered from the signal on. */
  probes: { answered: number }
  sockets: { closedIdle: number; closedAfterResponse: number; destroyed: number }
  tasks: { finished: number; failed: number; aborted: number }
  /**
   * Server-sent-event streams ended at the drain; WebSockets whose close completed, and those
   * terminated at the deadline. `closeCodes`: the completed WebSocket closes by code (the client
   * echoes ours; its own when it closed first). `spreadMs`: the window the closes were spread over.
   * `held`: closes that waited for work registered with `holdLongLived()`; `holdsExpired`: of those,
   * closes sent before the work settled because the hold lasted too long.
   */
  longLived: {
    streamsEnded: number
    webSocketsClosed: number
    webSocketsTerminated: number
    closeCodes: Record<string, number>
    spreadMs: number
    held: number
    holdsExpired: number
  }
  hooks: HookReport[]
  /** How startup went before this run: its duration and each startup task's outcome. */
  startup: StartupReport
  /** Uncaught exceptions and unhandled rejections seen while shutting down. */
  faults: ErrorInfo[]
}
