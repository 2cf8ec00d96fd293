import { sleepUntil } from '../timing.js'
import type { ServerDrainer } from './server-drainer.js'

/**
 * Closing a listening socket makes the kernel reset connections still waiting in its accept queue,
 * which their clients see as ECONNRESET. Where the backlog cannot be lowered first (see
 * listener-close.ts), the listener closes only once no connection was accepted for this long.
 */
const SETTLE_MS = 50

/** Resolves once no server accepted a connection for SETTLE_MS, or at `until`, or when `force` aborts. */
export async function acceptQueuesSettled (drainers: readonly ServerDrainer[], until: number, force: AbortSignal): Promise<void> {
  // Called during a poll phase, the first setImmediate would run before any further poll: it
  // proves nothing about the queue. So the loop starts with the next iteration.
  await new Promise((resolve) => setImmediate(resolve))
  for (;;) {
    // setImmediate runs after the event loop's poll phase, where libuv accepts queued connections
    // (Node 20: one per iteration): if none was accepted there, the queue was empty.
    await new Promise((resolve) => setImmediate(resolve))
    const settledAt = Math.max(0, ...drainers.map((d) => d.listener.lastAcceptAt)) + SETTLE_MS
    const now = performance.now()
    if (settledAt <= now || now >= until || force.aborted) return
    await sleepUntil(Math.min(settledAt, until), force)
  }
}
