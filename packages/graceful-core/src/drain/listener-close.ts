import { setImmediate as afterPollPhase } from 'node:timers/promises'
import { acceptQueuesSettled } from './accept-queue.js'
import type { DrainableServer, ServerDrainer } from './server-drainer.js'

/**
 * Closes every drainer's listener (`drainer.close()`) at a moment its accept queue is empty, so the
 * connections the kernel already accepted are served, not reset; resolves once all are closed.
 * `until` (performance clock) caps the wait, after which a listener closes whatever is queued; `cut`
 * closes at once.
 *
 * Why: a connection whose handshake completed waits in the kernel's accept queue until the event
 * loop accepts it (libuv takes one per loop iteration), and closing the listening socket resets
 * every connection still queued, whose client has usually sent its request already. Under a steady
 * stream of new connections that queue is never empty for long. So, on Linux, the live listening
 * socket first gets backlog 0 (Linux accepts a second listen() on a listening socket): from then on
 * the kernel queues at most one connection and drops other handshakes, whose clients retry about a
 * second later and are refused by then. The queue drains in a few loop iterations; the listener
 * closes right after a poll phase that found nothing to accept.
 *
 * The backlog change uses Node's internal listening handle (`server._handle.listen`), which is not
 * public API: it is feature-detected, and elsewhere (another platform, a cluster worker's shared
 * handle, a handle without listen) the listener closes once no connection was accepted for a short
 * while, as before (see accept-queue.ts). A client whose handshake is not finished on the server's
 * side when the listener closes (its final ACK still on the wire, or dropped because the queue was
 * full) believes it is connected and is reset: no socket API reaches those.
 */
export async function closeListeners (drainers: readonly ServerDrainer[], until: number, cut: AbortSignal): Promise<void> {
  await Promise.all(drainers.map(async (drainer) => { await closeListener(drainer, until, cut) }))
}

/** How a listener was closed: `'backlog-0'` (the queue emptied first) or `'quiet-wait'` (the fallback). */
export type ListenerCloseMethod = 'backlog-0' | 'quiet-wait'

/** Closes one drainer's listener as described above; tells which way was taken. */
export async function closeListener (drainer: ServerDrainer, until: number, cut: AbortSignal): Promise<ListenerCloseMethod> {
  drainer.beginDrain()
  const handle = listeningHandle(drainer.server)
  if (handle === undefined || handle.listen(0) !== 0) {
    await acceptQueuesSettled([drainer], until, cut)
    drainer.close()
    return 'quiet-wait'
  }
  const accepted = countAccepts(handle)
  try {
    // The loop iteration we are in may have polled the listener before its backlog changed.
    await afterPollPhase()
    // Queued connections are accepted one per loop iteration. A poll phase that accepted nothing
    // found the queue empty: close now, before a new handshake lands in it.
    while (!cut.aborted && performance.now() < until) {
      const before = accepted.count
      await afterPollPhase()
      if (accepted.count === before) break
    }
  } finally {
    accepted.stop()
    drainer.close()
  }
  return 'backlog-0'
}

/** The part of Node's internal TCP handle this file uses. */
interface ListeningHandle {
  listen: (backlog: number) => number
  onconnection: (...args: unknown[]) => unknown
}

/**
 * The server's own listening TCP handle, when lowering its backlog is known to work: Linux, a real
 * TCP handle (not a cluster worker's stand-in, whose listen() does nothing), still open.
 */
function listeningHandle (server: DrainableServer): ListeningHandle | undefined {
  if (process.platform !== 'linux') return undefined
  const handle = (server as unknown as { _handle?: Partial<ListeningHandle> & { fd?: unknown } | null })._handle
  if (handle == null || handle.constructor?.name !== 'TCP' || typeof handle.fd !== 'number' || handle.fd < 0) return undefined
  if (typeof handle.listen !== 'function' || typeof handle.onconnection !== 'function') return undefined
  return handle as ListeningHandle
}

/** Counts the connections the handle accepts, until stop(). */
function countAccepts (handle: ListeningHandle): { readonly count: number, stop: () => void } {
  const original = handle.onconnection
  const counter = { count: 0, stop: () => { handle.onconnection = original } }
  handle.onconnection = function (this: unknown, ...args: unknown[]): unknown {
    counter.count++
    return original.apply(this, args)
  }
  return counter
}
