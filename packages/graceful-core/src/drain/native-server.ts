/**
 * The servers Bun and Deno build around a fetch handler, told apart by shape (neither runtime's
 * class is importable from Node code), and the two ways each can stop.
 */
import { wrapMethod } from '../wrap.js'

/** What `Bun.serve()` returns: `stop(closeActiveConnections)` resolves once its connections are closed. */
export interface BunServer {
  stop (closeActiveConnections?: boolean): Promise<void> | void
}

/** What `Deno.serve()` returns: `shutdown()` resolves once the requests in progress are answered. */
export interface DenoServer {
  shutdown (): Promise<void>
  readonly finished: Promise<void>
  unref (): void
}

/** A server that calls a fetch handler: Bun.serve()'s or Deno.serve()'s. */
export type NativeServer = BunServer | DenoServer

function isDenoServer (server: NativeServer): server is DenoServer {
  return typeof (server as Partial<DenoServer>).shutdown === 'function'
}

/** Deno's server by `shutdown` and `finished`, Bun's by `stop` (a node:http server has neither). */
export function isNativeServer (server: unknown): server is NativeServer {
  if (typeof server !== 'object' || server === null) return false
  const shape = server as Partial<BunServer & DenoServer>
  if (typeof shape.shutdown === 'function' && typeof shape.finished?.then === 'function') return true
  return typeof shape.stop === 'function'
}

/**
 * Stops accepting connections and closes the idle ones at once (both runtimes do, measured on
 * Bun 1.4.5 and Deno 2.9.6); resolves when the requests in progress are answered. A server that was
 * stopped already resolves too.
 */
export async function stopAccepting (server: NativeServer): Promise<void> {
  try {
    await (isDenoServer(server) ? server.shutdown() : server.stop(false))
  } catch {
    // Stopped already (by the application): nothing left to wait for on this server.
  }
}

/**
 * Cuts the connections still open. Bun closes them (`stop(true)`). Deno has no way to: its
 * `signal` option, aborted after shutdown(), throws; so its server stops holding the process open
 * (`unref()`), and the exit that follows the report ends those connections.
 */
export function cutConnections (server: NativeServer): void {
  try {
    if (isDenoServer(server)) server.unref()
    else void Promise.resolve(server.stop(true)).catch(() => {})
  } catch {
    // Stopped already.
  }
}

/**
 * Calls `onStop` when anyone stops the server (`stop()` on Bun, `shutdown()` on Deno: a server has
 * no event for it), the first time; the drain's own stop included. Returns the undo.
 */
export function onServerStop (server: NativeServer, onStop: () => void): () => void {
  let seen = false
  const watch = <T extends (...args: never[]) => unknown>(stop: T): T => function watchedStop (this: unknown, ...args: Parameters<T>) {
    if (!seen) {
      seen = true
      onStop()
    }
    return stop.apply(this, args)
  } as T
  return isDenoServer(server) ? wrapMethod(server, 'shutdown', watch) : wrapMethod(server, 'stop', watch)
}
