/**
 * How a node:http drainer closes its listener (`drainer.closeAndReap()`): at a moment its accept
 * queue is empty, so the connections the kernel already accepted are served, not reset.
 * `until` (performance clock) caps the wait, after which a listener closes whatever is queued; `cut`
 * closes at once.
 *
 * Why: a connection whose handshake completed waits in the kernel's accept queue until the event
 * loop accepts it (libuv takes one per loop iteration), and closing the listening socket resets
 * every connection still queued, whose client has usually sent its request already. Under a steady
 * stream of new connections that queue is never empty for long. So, on Linux, the live listening
 * socket first gets backlog 0 (Linux accepts a second listen() on a listening socket): from then on
 * the kernel queues at most one connection and drops other handshakes, whose clients retry about a
 * second later and are refused by then. The queue drains in a few loop iterations. Then the listener
 * closes inside the callback of the next accept, when the queue is empty up to microseconds (see
 * closeAtNextAccept), or after QUIET_MS without one.
 *
 * The backlog change uses Node's internal listening handle (`server._handle.listen`), which is not
 * public API: it is feature-detected, and elsewhere (another platform, a cluster worker's shared
 * handle, a handle without listen) the listener closes once no connection was accepted for a short
 * while, as before (see accept-queue.ts). A client whose handshake is not finished on the server's
 * side when the listener closes (its final ACK still on the wire, or dropped because the queue was
 * full) believes it is connected and is reset: no socket API reaches those.
 */
import { setImmediate as afterPollPhase } from 'node:timers/promises'
import { acceptQueuesSettled } from './accept-queue.js'
import { sleepUntil } from '../timing.js'
import { wrapMethod } from '../wrap.js'
import type { DrainableServer } from './node-http.js'
import type { ServerDrainer } from './server-drainer.js'
import { isInheritedListener } from '../platform/inherited-listener.js'

/**
 * How long the backlog-0 close waits for a next accept to close in. Reached only when connections
 * arrive less often than this, and then the close follows a poll phase that accepted nothing (a
 * handshake finishing in the gap until the close is reset, at a chance of about gap / QUIET_MS at
 * worst, the gap being the poll phase's other callbacks). It delays an idle server's drain by as much.
 */
const QUIET_MS = 10

/** How a listener was closed: `'backlog-0'` (the queue emptied first) or `'quiet-wait'` (the fallback). */
export type ListenerCloseMethod = 'backlog-0' | 'quiet-wait'

/**
 * Closes one drainer's listener as described above; tells which way was taken. `quietMs` replaces
 * QUIET_MS (a test makes it long, so that only an accept can close the listener).
 */
export async function closeListener (drainer: ServerDrainer, until: number, force: AbortSignal, quietMs = QUIET_MS): Promise<ListenerCloseMethod> {
  drainer.listener.countLateAccepts()
  const handle = listeningHandle(drainer.server)
  if (handle === undefined || handle.listen(0) !== 0) {
    await acceptQueuesSettled([drainer], until, force)
    drainer.closeAndReap()
    return 'quiet-wait'
  }
  const accepted = countAccepts(handle)
  try {
    // The loop iteration we are in may have polled the listener before its backlog changed.
    await afterPollPhase()
    // Queued connections are accepted one per loop iteration. A poll phase that accepted nothing
    // found the queue empty: what was queued before the backlog changed has been taken.
    while (!force.aborted && performance.now() < until) {
      const before = accepted.count
      await afterPollPhase()
      if (accepted.count === before) break
    }
    await closeAtNextAccept(drainer, accepted, Math.min(performance.now() + quietMs, until), force)
  } finally {
    accepted.stop()
    closeHandleFirst(handle, drainer)
  }
  return 'backlog-0'
}

/**
 * Closes the listener in the callback of the next connection the handle accepts: that accept
 * emptied the queue, so closing the listening socket there, before the server's handlers run,
 * leaves only the few microseconds since the kernel handed the connection over for a handshake to
 * land in the queue and be reset. A close from any later callback (a setImmediate after the poll
 * phase) leaves the poll phase's other I/O callbacks in between, up to a millisecond under load.
 * Without an accept by `until` (or when `force` aborts) the listener closes after the next poll
 * phase, which closes it at its accept if a connection is queued by then.
 */
async function closeAtNextAccept (drainer: ServerDrainer, accepted: AcceptCounter, until: number, force: AbortSignal): Promise<void> {
  const closed = new AbortController()
  accepted.closeAtAccept = () => {
    drainer.closeAndReap()
    closed.abort()
  }
  await sleepUntil(until, AbortSignal.any([closed.signal, force]))
  if (!closed.signal.aborted && !force.aborted) await afterPollPhase()
}

/**
 * Closes the listening socket, then the drainer. server.close() alone would first end the idle
 * keep-alive connections (Node's closeIdleConnections), which takes about a millisecond with a few
 * dozen of them, while new handshakes land in the queue. Node's own close() of the handle, which
 * follows, does nothing on a closed handle.
 */
function closeHandleFirst (handle: ListeningHandle, drainer: ServerDrainer): void {
  handle.close()
  drainer.closeAndReap()
}

/** The part of Node's internal TCP handle this file uses. */
interface ListeningHandle {
  listen: (backlog: number) => number
  onconnection: (...args: unknown[]) => unknown
  close: () => void
}

/**
 * The server's own listening TCP handle, when lowering its backlog is known to work: Linux, a real
 * TCP handle (not a cluster worker's stand-in, whose listen() does nothing), still open. Deno's
 * node:http handle (`TCPWrap`, no fd) answers listen(0) with 0 but keeps its backlog, and Bun's
 * servers have no handle: both close after the quiet wait (test/runtimes/internals.test.ts).
 */
function listeningHandle (server: DrainableServer): ListeningHandle | undefined {
  if (process.platform !== 'linux') return undefined
  if (isInheritedListener(server)) return undefined // shared socket: its backlog is the next instance's queue
  const handle = (server as unknown as { _handle?: Partial<ListeningHandle> & { fd?: unknown } | null })._handle
  if (handle == null || handle.constructor?.name !== 'TCP' || typeof handle.fd !== 'number' || handle.fd < 0) return undefined
  if (typeof handle.listen !== 'function' || typeof handle.onconnection !== 'function' || typeof handle.close !== 'function') return undefined
  return handle as ListeningHandle
}

interface AcceptCounter {
  count: number
  /**
   * When set, the next accept closes the listening handle before the server gets the connection
   * (the kernel has handed it over already), then calls this once the server has it.
   */
  closeAtAccept?: () => void
  stop: () => void
}

/** Counts the connections the handle accepts, until stop(). */
function countAccepts (handle: ListeningHandle): AcceptCounter {
  const counter: AcceptCounter = { count: 0, stop: () => {} }
  counter.stop = wrapMethod(handle, 'onconnection', (original) => function countingAccept (this: unknown, ...args: unknown[]): unknown {
    counter.count++
    const closeAtAccept = counter.closeAtAccept
    if (closeAtAccept !== undefined) handle.close()
    const result = original.apply(this, args)
    closeAtAccept?.()
    return result
  })
  return counter
}
