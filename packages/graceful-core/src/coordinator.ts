import { deadlines } from './budget.js'
import { drain, type DrainResult } from './drain/drain.js'
import { errorInfo, invalid } from './errors.js'
import { exitCodeOf, flushLogger } from './exit.js'
import { releaseServer, runEnded, runStarted } from './process-runs.js'
import { publishReport, publishState } from './observe/channels.js'
import { kInFlight, registerInFlightSource } from './observe/in-flight.js'
import { enableTelemetry, flushTelemetry } from './observe/telemetry.js'
import { attachProcessManager } from './platform/process-manager.js'
import { PreStopWindow, type PreStopResult } from './pre-stop.js'
import { onProcessFault, onSignals } from './process-events.js'
import { type GracefulEvents, Registrations } from './registrations.js'
import { buildReport, type PhaseName, type PhaseTimes, summaryLine } from './report.js'
import { SignalPolicy } from './signals.js'
import type { ErrorInfo, GracefulOptions, HookReport, ShutdownReport, State } from './types.js'

export type { GracefulEvents } from './registrations.js'

/** Each phase as its failure is logged. */
const PHASE_LABELS: Record<PhaseName, string> = { preStop: 'pre-stop', drain: 'drain', cleanup: 'cleanup', persist: 'persist', afterPersist: 'after-persist cleanup' }

/** The longest the exit waits for OpenTelemetry's exporters. */
const TELEMETRY_FLUSH_TIMEOUT_MS = 1000
export type { ProbeRequest, ProbeResponse } from './probes.js'

/**
 * The shutdown coordinator. It owns the state and orders the phases; each phase lives in its own
 * file (see the README's "Architecture"). One run of the pipeline, in this order:
 *
 * 1. a signal or `shutdown()`: state `draining`, `signal` aborts, readiness reports draining, every
 *    response from now on carries `Connection: close` (signals.ts decides what a signal means);
 * 2. pre-stop (pre-stop.ts): real traffic is still served for `preStopDelayMs` (and, with
 *    `preStopQuietMs`, until traffic stops, at most `preStopMaxMs`), never longer than budget.ts allows;
 * 3. drain (drain/drain.ts): `drainSignal` aborts, listeners close, idle sockets end at once, busy
 *    ones after their response, tracked tasks are awaited; at the drain deadline what is left is destroyed;
 * 4. cleanup hooks in reverse registration order, each under its timeout (hooks.ts);
 * 5. persist hooks in registration order, with a reserved budget; then (phase `afterPersist`) the
 *    cleanups registered with `afterPersist`;
 * 6. every install is undone, the report (report.ts) is emitted and logged, the logger flushed, and
 *    a signal-started run exits (exit.ts: 0 when clean).
 *
 * Nothing in the pipeline throws: a failure inside a phase is a fault of the report and the next
 * phase still runs. `shutdown()` returns the same promise to every caller. A second signal skips the
 * remaining waits and exits non-zero.
 */
export class Graceful extends Registrations {
  readonly #preStop: PreStopWindow
  readonly #signals: SignalPolicy
  readonly #unsubscribeSignals: () => void
  #forcedDuring: State | undefined
  /** Set by a signal: only a signal-started (or signal-joined) run ends the process. */
  #exitWhenStopped = false
  #reason: string | undefined

  constructor (options?: GracefulOptions) {
    super(options)
    this.#preStop = new PreStopWindow(this.options, this.force.signal)
    this.#signals = new SignalPolicy(this.options.logger, this.options.signals)
    this.#unsubscribeSignals = onSignals(this.options.signals, this.#onSignal)
    // PM2 and node:cluster: 'ready' once running, the 'shutdown' message starts a run like a signal.
    attachProcessManager(this, this.#onSignal)
    // OpenTelemetry, when @opentelemetry/api is installed: spans and metrics from the channels.
    enableTelemetry()
    registerInFlightSource(this)
    this.checkBudget()
  }

  /** The current lifecycle state. */
  get state (): State {
    return this.currentState
  }

  /** Why the shutdown began: the signal's name (`'SIGTERM'`) or the caller's reason; undefined before. */
  get shutdownReason (): string | undefined {
    return this.#reason
  }

  /**
   * Aborted when the drain begins (pre-stop is over, the listener is about to close): the moment to
   * end long-lived work (long polls, streaming responses) so clients reconnect to another instance.
   */
  get drainSignal (): AbortSignal {
    return this.drainController.signal
  }

  /** Runs the pipeline once; every call, concurrent or later, gets the same report. */
  shutdown (reason = 'shutdown()'): Promise<ShutdownReport> {
    if (typeof reason !== 'string') throw invalid('shutdown(reason)', 'a string', reason)
    if (this.run) return this.run
    // #run is set before the pipeline starts, so a listener of its first (synchronous) steps that
    // calls shutdown() gets this same promise.
    let start!: (report: Promise<ShutdownReport>) => void
    this.run = new Promise((resolve) => { start = resolve })
    start(this.#pipeline(reason))
    return this.run
  }

  /** A signal, or a process manager's `'shutdown'` message: a run that ends the process. */
  #onSignal = (signal: string): void => {
    this.#exitWhenStopped = true
    const meaning = this.#signals.receive(signal, this.run !== undefined, this.currentState)
    if (meaning === 'start') {
      void this.shutdown(signal)
    } else if (meaning === 'force') {
      this.#forcedDuring = this.currentState
      this.force.abort()
    }
  }

  /** @internal */
  protected onListenerClosedByOther (): void {
    if (this.currentState === 'starting' || this.currentState === 'running' || this.drainController.signal.aborted) return
    this.options.logger.warn({ state: this.currentState },
      'the server stopped listening before the drain: something else closed it (another SIGTERM handler?), so new connections were refused before the load balancer caught up')
  }

  /** @internal Startup is over: every startup task resolved and every added server listens. */
  protected onStarted (): void {
    if (this.currentState !== 'starting') return
    // What cannot work as configured is said before anyone is told the instance runs (PM2's 'ready').
    if (this.budgetCheck !== undefined) this.warnOfBudgetNow()
    this.#setState('running')
  }

  /** @internal A startup task failed: the normal pipeline runs and, as after a signal, the process exits (1). */
  protected onStartupFailure (reason: string): void {
    this.#exitWhenStopped = true
    void this.shutdown(reason)
  }

  /** Requests this coordinator's servers are serving right now (probes excluded), for the in-flight gauge. */
  get [kInFlight] (): number {
    let requests = 0
    for (const drainer of this.drainers.values()) requests += drainer.inFlight
    return requests
  }

  /** @internal */
  protected onTraffic (): void {
    this.#preStop.sawTraffic()
  }

  async #pipeline (reason: string): Promise<ShutdownReport> {
    const { logger } = this.options
    const startedAt = new Date()
    const t0 = performance.now()
    const faults: ErrorInfo[] = []
    const fault = (error: unknown, phase: string): void => {
      faults.push(errorInfo(error))
      logger.error({ err: error, phase }, `${phase} failed; shutdown goes on`)
    }
    // Every install has its undo here, run in the finally whatever happened (LIFO).
    const undo: Array<() => void> = [this.#unsubscribeSignals]
    undo.push(onProcessFault((error) => fault(error, 'uncaught error during shutdown')))
    undo.push(() => {
      for (const [server, drainer] of this.drainers) {
        drainer.detach()
        releaseServer(server, this)
      }
    })
    runStarted(this)
    clearImmediate(this.budgetCheck)
    /** When each phase started and ended (performance clock): the report's `startMs` and `durationMs`. */
    const phaseTimes: PhaseTimes = {}
    /**
     * Runs one phase; a throw becomes a fault and `fallback` its result, so the next phase still runs.
     * `start` is when the phase began: pre-stop counts from the signal itself.
     */
    const phase = async <T>(name: PhaseName, fallback: T, run: () => Promise<T>, start = performance.now()): Promise<T> => {
      try {
        return await run()
      } catch (error) {
        fault(error, `the ${PHASE_LABELS[name]} phase`)
        return fallback
      } finally {
        phaseTimes[name] = { start, end: performance.now() }
      }
    }

    let inFlightAtSignal = 0
    let preStop: PreStopResult = { durationMs: 0, endedBy: 'forced', requests: 0, configuredMs: 0, effectiveMs: 0 }
    let drained: DrainResult | undefined
    const hooks: HookReport[] = []
    const budget = this.budget()
    try {
      // Whoever sees the state change (or the signal abort) can already read the reason and the state.
      const from = this.currentState
      this.currentState = 'draining'
      this.#reason = reason
      this.shutdownController.abort(new Error(`shutdown: ${reason}`))
      this.#setState('draining', from)
      this.startupGate.abort(this.signal.reason)
      this.tasks.startCounting()
      for (const drainer of this.drainers.values()) {
        inFlightAtSignal += drainer.inFlight
        drainer.announceClose()
      }
      logger.info({ reason, inFlight: inFlightAtSignal }, 'shutdown started; readiness reports draining')
      const { drainDeadline, cleanupDeadline } = deadlines(budget, t0)

      preStop = await phase('preStop', preStop, () => this.#preStop.run(t0, budget.preStopConfiguredMs, budget.preStopMs), t0)
      drained = await phase('drain', undefined, async () => {
        this.drainController.abort(new Error('drain started'))
        const parts = { drainers: [...this.drainers.values()], webSockets: this.webSockets, longLived: this.longLived, tasks: this.tasks, logger }
        return await drain(parts, drainDeadline, this.force.signal)
      })
      // A drain that failed half-way must not leave connections open: the process could not exit.
      if (drained === undefined) {
        for (const drainer of this.drainers.values()) {
          drainer.closeAndReap()
          drainer.destroyRemaining()
        }
      }

      this.#setState('cleaning')
      hooks.push(...await phase('cleanup', [], () => this.hooks.runCleanup(t0, cleanupDeadline, this.force.signal)))
      this.#setState('persisting')
      hooks.push(...await phase('persist', [], () => this.hooks.runPersist(t0, this.force.signal)))
      hooks.push(...await phase('afterPersist', [], () => this.hooks.runAfterPersist(t0, this.force.signal)))
    } catch (error) {
      fault(error, 'the shutdown pipeline')
    } finally {
      for (const step of undo.reverse()) {
        try {
          step()
        } catch (error) {
          fault(error, 'undoing an install')
        }
      }
      this.#setState('stopped')
    }
    const report = this.#report(reason, startedAt, t0, { inFlightAtSignal, preStop, drained, hooks, faults, phaseTimes })
    // Published first: a 'report' listener that shuts its telemetry SDK down must not lose the shutdown's spans.
    publishReport(report)
    this.#emitSafely('report', report)
    if (report.exitCode === 0) logger.info({ report }, summaryLine(report))
    else logger.error({ report }, summaryLine(report))
    const exit = this.#exitWhenStopped ? this.options.exit : undefined
    // The shutdown's own spans and metrics are made from the report: export them before exiting.
    if (exit) await Promise.all([flushLogger(logger), flushTelemetry(TELEMETRY_FLUSH_TIMEOUT_MS)])
    // The process exits once every coordinator in it has finished its run (process-runs.ts).
    runEnded(this, report.exitCode, exit, logger)
    return report
  }

  #report (reason: string, startedAt: Date, t0: number, run: {
    inFlightAtSignal: number, preStop: PreStopResult, drained: DrainResult | undefined, hooks: HookReport[], faults: ErrorInfo[], phaseTimes: PhaseTimes
  }): ShutdownReport {
    const { drained, hooks, faults, phaseTimes } = run
    const forced = this.force.signal.aborted
    const failed = forced || drained?.complete !== true || hooks.some((h) => h.outcome !== 'ok') || faults.length > 0 ||
      this.tasks.failed > 0 || this.startupGate.failed
    return buildReport({
      reason,
      startedAt,
      t0,
      exitCode: exitCodeOf(reason, failed, this.options.exitWithSignalCode),
      forcedDuring: forced ? this.#forcedDuring ?? this.currentState : undefined,
      inFlightAtSignal: run.inFlightAtSignal,
      preStop: run.preStop,
      phaseTimes,
      drain: {
        listenerClosedAt: drained?.listenerClosedAt ?? t0,
        listenerClosedBy: drained?.listenerClosedBy ?? 'graceful'
      },
      counts: [...this.drainers.values()].map((d) => d.counts),
      tasks: { finished: this.tasks.finished, failed: this.tasks.failed, aborted: drained?.tasksAborted ?? this.tasks.size },
      webSockets: this.webSockets.counts,
      spread: this.longLived.counts,
      hooks,
      startup: this.startupGate.report(),
      faults
    })
  }

  #setState (state: State, from = this.currentState): void {
    this.currentState = state
    publishState(from, state, this.#reason ?? 'started')
    this.#emitSafely('state', state)
  }

  /** A throwing listener is logged, never allowed to break the pipeline. */
  #emitSafely (event: keyof GracefulEvents, value: State | ShutdownReport): void {
    try {
      (this.emit as (event: string, value: unknown) => boolean)(event, value)
    } catch (error) {
      this.options.logger.error({ err: error, event }, 'a graceful event listener threw')
    }
  }
}

/** Creates a coordinator. Options are validated here; a bad one throws at once, naming itself. */
export function createGraceful (options?: GracefulOptions): Graceful {
  return new Graceful(options)
}
