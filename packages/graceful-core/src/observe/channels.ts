/**
 * graceful's `node:diagnostics_channel` channels: anyone (an APM agent, a test, the OpenTelemetry
 * bridge in ./telemetry.ts) can watch a shutdown without the coordinator knowing who listens.
 *
 * - `graceful:state`  `{ from, to, reason, at }` on every state change
 * - `graceful:report` the final ShutdownReport, once per run
 * - `graceful:check`  `{ name, outcome, durationMs }` per readiness check run
 *
 * Channels are process-wide by name, so the ESM and the CJS build (or two versions) publish into the
 * same ones. Without subscribers a publish is one property read: no message object is built.
 * @module
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import type { CheckOutcome, ShutdownReport, State } from '../types.js'

export const STATE_CHANNEL = 'graceful:state'
export const REPORT_CHANNEL = 'graceful:report'
export const CHECK_CHANNEL = 'graceful:check'

/** One state change of a coordinator. */
export interface StateChange {
  from: State
  to: State
  /** Why: the shutdown's reason (the signal's name or the `shutdown()` argument), or `'started'` for `running`. */
  reason: string
  /** When, in milliseconds since the Unix epoch with sub-millisecond precision (`performance.timeOrigin + performance.now()`). */
  at: number
}

/** One run of a readiness check. */
export interface CheckRun {
  name: string
  outcome: CheckOutcome
  /** How long the run took (milliseconds, not rounded). */
  durationMs: number
}

const stateChannel = diagnosticsChannel.channel(STATE_CHANNEL)
const reportChannel = diagnosticsChannel.channel(REPORT_CHANNEL)
const checkChannel = diagnosticsChannel.channel(CHECK_CHANNEL)

/** Publishes a state change on `graceful:state`; `at` is taken now. */
export function publishState (from: State, to: State, reason: string): void {
  if (!stateChannel.hasSubscribers) return
  const message: StateChange = { from, to, reason, at: performance.timeOrigin + performance.now() }
  stateChannel.publish(message)
}

/** Publishes the final report on `graceful:report` (the same object the `report` event gets). */
export function publishReport (report: ShutdownReport): void {
  if (!reportChannel.hasSubscribers) return
  reportChannel.publish(report)
}

/** Publishes one readiness check run on `graceful:check`. */
export function publishCheck (name: string, outcome: CheckOutcome, durationMs: number): void {
  if (!checkChannel.hasSubscribers) return
  const message: CheckRun = { name, outcome, durationMs }
  checkChannel.publish(message)
}
