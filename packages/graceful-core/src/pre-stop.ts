import { sleepUntil } from './timing.js'
import type { PreStopEnd } from './types.js'

export interface PreStopOptions {
  readonly preStopDelayMs: number
  readonly preStopQuietMs: number
  readonly preStopMaxMs: number
}

export interface PreStopResult {
  durationMs: number
  endedBy: PreStopEnd
  /** Non-probe requests that arrived during the window. */
  requests: number
  /** The longest window configured, and the longest the budget let it take. */
  configuredMs: number
  effectiveMs: number
}

/**
 * The pre-stop window: real traffic is still served while the load balancer takes the instance
 * out. Fixed (`preStopDelayMs`) or traffic-aware: at least `preStopDelayMs`, then until no request
 * arrived for `preStopQuietMs`, at most `preStopMaxMs`. Never longer than the budget allows.
 */
export class PreStopWindow {
  readonly #options: PreStopOptions
  readonly #force: AbortSignal
  #lastTrafficAt = 0
  #open = false
  #requests = 0

  constructor (options: PreStopOptions, force: AbortSignal) {
    this.#options = options
    this.#force = force
  }

  /** A request that is not a probe arrived while shutting down. */
  sawTraffic (): void {
    this.#lastTrafficAt = performance.now()
    if (this.#open) this.#requests++
  }

  /**
   * Waits the window out, from `t0` (performance clock) for at most `effectiveMs` (the budget's
   * share, see budget.ts) of the `configuredMs` the options ask for.
   */
  async run (t0: number, configuredMs: number, effectiveMs: number): Promise<PreStopResult> {
    const { preStopDelayMs, preStopQuietMs, preStopMaxMs } = this.#options
    const cap = t0 + effectiveMs
    const minEnd = Math.min(t0 + preStopDelayMs, cap)
    const maxEnd = Math.min(t0 + preStopMaxMs, cap)
    // Ended by the budget: the end it reached is the cap, short of the configured one.
    const byCap = (end: number, configured: number): boolean => end === cap && cap < configured
    // The quiet period is watched after the minimum (the load balancer's lag): it ends one quiet
    // period after the later of the minimum and the last request.
    const quietEnd = (): number => Math.max(minEnd, this.#lastTrafficAt) + preStopQuietMs
    let endedBy: PreStopEnd = byCap(minEnd, t0 + preStopDelayMs) ? 'budget' : 'fixed'
    this.#open = true
    if (preStopQuietMs === 0) {
      await sleepUntil(minEnd, this.#force)
    } else {
      for (;;) {
        if (quietEnd() >= maxEnd) {
          await sleepUntil(maxEnd, this.#force)
          endedBy = byCap(maxEnd, t0 + preStopMaxMs) ? 'budget' : 'max'
          break
        }
        await sleepUntil(quietEnd(), this.#force)
        if (this.#force.aborted) break
        if (quietEnd() <= performance.now()) {
          endedBy = 'quiet'
          break
        }
      }
    }
    this.#open = false
    if (this.#force.aborted) endedBy = 'forced'
    return { durationMs: performance.now() - t0, endedBy, requests: this.#requests, configuredMs, effectiveMs }
  }
}
