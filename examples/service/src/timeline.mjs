/**
 * Draws a shutdown report as a timeline for the terminal: one row per phase and per hook, a bar on
 * a common time axis from the signal to the exit, the duration, and what happened. Plain ASCII, no
 * colour: it reads the same in a CI log, a file or a terminal without Unicode.
 * @module
 */

/** @typedef {import('graceful-core').ShutdownReport} ShutdownReport */
/** @typedef {import('graceful-core').HookReport} HookReport */

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
  const inCleanup = cleanupPhaseHooks(report)
  const hookRow = (/** @type {HookReport} */ hook) => ({
    label: `  ${hook.name}`,
    ms: hook.durationMs,
    note: hook.outcome + (hook.error ? `: ${hook.error.message}` : '')
  })

  /** @type {{ label: string, ms: number, note: string }[]} */
  const rows = [
    { label: 'pre-stop', ms: phases.preStop.durationMs, note: `/ready 503, ${phases.preStop.requests} new request(s) served; ended by ${phases.preStop.endedBy}` },
    {
      label: 'drain',
      ms: phases.drain.durationMs,
      note: `listener closed at +${phases.drain.listenerClosedAtMs} ms; sockets ${sockets.closedIdle} idle / ${sockets.closedAfterResponse} after response / ${sockets.forced} forced; tasks ${tasks.finished} finished / ${tasks.aborted} aborted`
    },
    { label: 'cleanup', ms: phases.cleanup.durationMs, note: inCleanup === 0 ? 'no hooks' : '' },
    ...report.hooks.slice(0, inCleanup).map(hookRow),
    { label: 'persist', ms: phases.persist.durationMs, note: inCleanup === report.hooks.length ? 'no hooks' : '' },
    ...report.hooks.slice(inCleanup).map(hookRow)
  ]

  // Phases follow each other from the signal; hooks follow each other from their phase's start.
  let phaseAt = 0
  let hookAt = 0
  const placed = rows.map((row) => {
    const isHook = row.label.startsWith('  ')
    const start = isHook ? hookAt : phaseAt
    if (isHook) hookAt += row.ms
    else {
      phaseAt += row.ms
      hookAt = start
    }
    return { ...row, bar: bar(Math.min(start, total), Math.min(start + row.ms, total), total, width) }
  })

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

/**
 * How many of the report's first hooks ran in the cleanup phase: the report lists cleanup hooks,
 * persist hooks, then the cleanups registered with `afterPersist` (run in the persist phase).
 * Without a persist hook, as many cleanups as fit in the cleanup phase's duration.
 * @param {ShutdownReport} report
 */
export function cleanupPhaseHooks (report) {
  const firstPersist = report.hooks.findIndex((h) => h.phase === 'persist')
  if (firstPersist >= 0) return firstPersist
  let sum = 0
  let count = 0
  for (const hook of report.hooks) {
    sum += hook.durationMs
    if (sum > report.phases.cleanup.durationMs + 0.5 * (count + 2)) break
    count++
  }
  return count
}
