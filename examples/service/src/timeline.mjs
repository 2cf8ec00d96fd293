/**
 * Draws a shutdown report as a timeline for the terminal: one row per phase and per hook, a bar on
 * a common time axis from the signal to the exit, the duration, and what happened. Plain ASCII, no
 * colour: it reads the same in a CI log, a file or a terminal without Unicode.
 * @module
 */

import { timelineOf } from 'graceful-core'

/** @typedef {import('graceful-core').ShutdownReport} ShutdownReport */

const BAR = '#'
const TRACK = '.'
/** A phase or hook of 0 ms: still visible, as a tick where it happened. */
const TICK = '|'

/**
 * @param {ShutdownReport} report
 * @param {{ width?: number }} [options] width of the time axis in characters (default 48)
 * @returns {string} the timeline, lines joined with '\n', no trailing newline
 */
export function renderTimeline (report, { width = 48 } = {}) {
  const total = Math.max(1, report.durationMs)
  const { phases, sockets, tasks, requests } = report
  // Where each phase and hook sat on the clock: graceful-core lays the report out.
  const timeline = timelineOf(report)
  const offset = (/** @type {{ start: number, end: number }} */ interval) => ({ start: interval.start - timeline.start, end: interval.end - timeline.start })
  const hooksIn = (/** @type {import('graceful-core').HookPhase} */ phase) => timeline.hooks.filter((slot) => slot.phase === phase).map((slot) => ({
    label: `  ${slot.hook.name}`,
    ms: slot.hook.durationMs,
    note: slot.hook.outcome + (slot.hook.error ? `: ${slot.hook.error.message}` : ''),
    ...offset(slot)
  }))
  const phaseRow = (/** @type {string} */ label, /** @type {import('graceful-core').TimelinePhase} */ name, /** @type {string} */ note) =>
    ({ label, ms: phases[name].durationMs, note, ...offset(timeline.phases[name]) })
  /** A hook phase's row, then its hooks' rows. */
  const hookPhaseRows = (/** @type {string} */ label, /** @type {import('graceful-core').HookPhase} */ name) => {
    const hooks = hooksIn(name)
    return [phaseRow(label, name, hooks.length === 0 ? 'no hooks' : ''), ...hooks]
  }

  const rows = [
    phaseRow('pre-stop', 'preStop', `/ready 503, ${phases.preStop.requests} new request(s) served; ended by ${phases.preStop.endedBy}`),
    phaseRow('drain', 'drain', `listener closed at +${phases.drain.listenerClosedAtMs} ms; sockets ${sockets.closedIdle} idle / ${sockets.closedAfterResponse} after response / ${sockets.destroyed} destroyed; tasks ${tasks.finished} finished / ${tasks.aborted} aborted`),
    ...hookPhaseRows('cleanup', 'cleanup'),
    ...hookPhaseRows('persist', 'persist'),
    ...hookPhaseRows('after persist', 'afterPersist')
  ]
  const placed = rows.map((row) => ({ ...row, bar: bar(row.start, row.end, total, width) }))

  const labelWidth = Math.max(...placed.map((r) => r.label.length)) + 2
  const msWidth = Math.max(...placed.map((r) => `${r.ms} ms`.length))
  const outcome = report.forced ? `FORCED during ${report.forcedDuring ?? 'shutdown'}` : report.exitCode === 0 ? 'complete' : 'incomplete'
  const axisEnd = `${report.durationMs} ms`
  const lines = [
    `Shutdown timeline: ${report.reason} -> exit ${report.exitCode} in ${report.durationMs} ms (${outcome}); ${requests.inFlightAtSignal} request(s) in flight at the signal`,
    `${' '.repeat(labelWidth)} 0 ms${axisEnd.padStart(width - 4)}`,
    ...placed.map((r) => `${r.label.padEnd(labelWidth)}[${r.bar}] ${`${r.ms} ms`.padStart(msWidth)}${r.note ? `  ${r.note}` : ''}`),
    `${'exit'.padEnd(labelWidth)} code ${report.exitCode} at +${report.durationMs} ms`
  ]
  if (report.faults.length > 0) lines.push(`faults: ${report.faults.map((f) => `${f.name}: ${f.message}`).join('; ')}`)
  return lines.join('\n')
}

/**
 * The track from 0 to `total` in `width` characters, with `start`..`end` drawn.
 * @param {number} start @param {number} end @param {number} total @param {number} width
 */
function bar (start, end, total, width) {
  const from = Math.min(width - 1, Math.round((start / total) * width))
  const to = Math.min(width, Math.max(from + 1, Math.round((end / total) * width)))
  const mark = end > start ? BAR.repeat(to - from) : TICK
  return (TRACK.repeat(from) + mark).padEnd(width, TRACK)
}
