import type { ErrorInfo, ShutdownReport } from './types.js'

/** Keeps what a reader needs of an error as plain JSON (an Error serialises to `{}` otherwise). */
export function errorInfo (error: unknown): ErrorInfo {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) }
  }
  return { name: 'NonError', message: String(error) }
}

/** The one summary line logged with the report. */
export function summaryLine (report: ShutdownReport): string {
  const hooks = report.hooks.length === 0
    ? 'no hooks'
    : `hooks ${report.hooks.map((h) => `${h.name}:${h.outcome}`).join(', ')}`
  const { closedIdle, closedAfterResponse, forced } = report.sockets
  const { streamsEnded, webSocketsClosed, webSocketsTerminated } = report.longLived
  const longLived = streamsEnded + webSocketsClosed + webSocketsTerminated === 0
    ? ''
    : `long-lived ${streamsEnded} event streams ended / ${webSocketsClosed} WebSockets closed / ${webSocketsTerminated} terminated, `
  const outcome = report.forced ? 'forced' : report.exitCode === 0 ? 'complete' : 'incomplete'
  return `shutdown ${outcome} (${report.reason}) in ${report.durationMs} ms, exit ${report.exitCode}: ` +
    `pre-stop ${report.phases.preStop.durationMs} ms (${report.phases.preStop.endedBy}), ` +
    `${report.requests.completedDuringDrain} requests completed, sockets ${closedIdle} idle / ${closedAfterResponse} after response / ${forced} forced, ` +
    longLived +
    `tasks ${report.tasks.finished} finished / ${report.tasks.aborted} aborted, ${hooks}`
}
