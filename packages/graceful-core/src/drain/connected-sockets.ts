import type { Socket } from 'node:net'

/** While the server runs, closed sockets leave in sweeps, when the set has grown this much since the last. */
const SWEEP_GROWTH = 2
const SWEEP_MIN_SIZE = 1024

/**
 * A server's HTTP/1 sockets, cheap while it runs: a socket costs one Set entry (no listener, no
 * object, no timer), and closed ones leave in sweeps, amortised O(1) per connection.
 */
export class ConnectedSockets implements Iterable<Socket> {
  readonly #sockets = new Set<Socket>()
  #sweepAt = SWEEP_MIN_SIZE

  get size (): number {
    return this.#sockets.size
  }

  add (socket: Socket): void {
    this.#sockets.add(socket)
  }

  delete (socket: Socket): boolean {
    return this.#sockets.delete(socket)
  }

  /** Sweeps once the set has grown enough since the last sweep (for a server that runs). */
  sweepIfGrown (): void {
    if (this.#sockets.size >= this.#sweepAt) this.sweep()
  }

  /** Drops closed sockets without counting them. */
  sweep (): void {
    for (const socket of this.#sockets) if (socket.destroyed) this.#sockets.delete(socket)
    this.#sweepAt = Math.max(SWEEP_MIN_SIZE, this.#sockets.size * SWEEP_GROWTH)
  }

  [Symbol.iterator] (): Iterator<Socket> {
    return this.#sockets[Symbol.iterator]()
  }
}
