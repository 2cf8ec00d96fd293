import type { Logger } from '../types.js'
import type { TaskSet } from '../tasks.js'
import { raceTimeout } from '../timing.js'
import type { Drainer } from './contract.js'
import type { LongLivedSpread } from './long-lived-spread.js'
import type { WebSocketCloser } from './websockets.js'

/** The longest the drain waits for the listeners' accept queues to empty before closing them. */
const LISTENER_SETTLE_MAX_MS = 1000

export interface DrainParts {
  readonly drainers: readonly Drainer[]
  readonly webSockets: WebSocketCloser
  readonly longLived: LongLivedSpread
  readonly tasks: TaskSet
  readonly logger: Logger
}

export interface DrainResult {
  /** False when anything had to be destroyed at the deadline (or a second signal cut the wait). */
  readonly complete: boolean
  readonly startedAt: number
  readonly durationMs: number
  readonly tasksAborted: number
  /** When the first listener stopped accepting, by our close or anyone else's. */
  readonly listenerClosedAt: number
  readonly listenerClosedBy: 'graceful' | 'other'
}

/**
 * The drain phase: long-lived connections are ended now, not during pre-stop (clients reconnecting
 * then would come straight back to this instance); the listeners close once their accept queues
 * are empty; connections and tracked tasks are awaited until `deadline` (performance clock), then
 * what is left is destroyed. `force` (a second signal) skips the waits.
 */
export async function drain ({ drainers, webSockets, longLived, tasks, logger }: DrainParts, deadline: number, force: AbortSignal): Promise<DrainResult> {
  const start = performance.now()
  longLived.begin(drainers, webSockets, deadline)
  const settleUntil = Math.min(deadline, start + LISTENER_SETTLE_MAX_MS)
  await Promise.all(drainers.map((drainer) => drainer.closeListener(settleUntil, force)))
  const everything = Promise.all([...drainers.map((d) => d.closed), tasks.settled(), webSockets.closed])
  const waited = await raceTimeout(() => everything, deadline - performance.now(), force)
  const complete = waited.outcome === 'ok' && !force.aborted
  const tasksAborted = complete ? 0 : tasks.size
  if (!complete) {
    longLived.stop()
    const destroyedBefore = drainers.reduce((sum, drainer) => sum + drainer.counts.destroyed, 0)
    const terminatedBefore = webSockets.counts.terminated
    webSockets.terminateRest()
    const upgraded = drainers.reduce((sum, drainer) => sum + drainer.destroyRemaining(), 0)
    const destroyed = drainers.reduce((sum, drainer) => sum + drainer.counts.destroyed, 0) - destroyedBefore +
      webSockets.counts.terminated - terminatedBefore
    // Upgraded sockets cut without a close frame: a registered WebSocket server would have said 1001 first.
    const hint = upgraded > 0 && webSockets.servers === 0
      ? `; ${upgraded} upgraded (WebSocket) socket(s) were among them: register the WebSocket server with graceful.addWebSocketServer(wss) so its clients get a close frame (longLived.closeCode) when the drain begins`
      : ''
    logger.warn({ destroyed, tasksAborted, upgradedDestroyed: upgraded, drainedMs: Math.round(performance.now() - start) },
      `${force.aborted ? 'drain cut by a second signal' : 'drain deadline reached'}; ${cutSummary(destroyed, tasksAborted)}${hint}`)
  }
  const closes = drainers.flatMap((d) => (d.listener.closedAt === undefined ? [] : [d.listener.closedAt]))
  return {
    complete,
    startedAt: start,
    durationMs: performance.now() - start,
    tasksAborted,
    listenerClosedAt: closes.length === 0 ? start : Math.min(...closes),
    listenerClosedBy: drainers.some((d) => d.listener.closedByOther) ? 'other' : 'graceful'
  }
}

/** What the end of the drain cut, as it happened: connections destroyed, tracked tasks left unfinished. */
function cutSummary (destroyed: number, tasksAborted: number): string {
  const tasks = `${tasksAborted} tracked task(s) still pending, counted as aborted`
  if (destroyed === 0) return tasksAborted > 0 ? `no connection was left to destroy; ${tasks}` : 'nothing was left to destroy'
  return `${destroyed} remaining connection(s) destroyed${tasksAborted > 0 ? `; ${tasks}` : ''}`
}
