import type { Http2Session } from 'node:http2'

/**
 * A node:http2 server's sessions. server.close() leaves them serving, so the drain sends each a
 * GOAWAY (`session.close()`: streams in progress finish, no new ones start) and destroys what is
 * left at the deadline.
 */
export class Http2Sessions {
  readonly #sessions = new Set<Http2Session>()
  readonly #onClosed: () => void
  #closing = false

  /** `onClosed` is called when a session closed on its own (not destroyed by destroyAll()). */
  constructor (onClosed: () => void) {
    this.#onClosed = onClosed
  }

  get size (): number {
    return this.#sessions.size
  }

  add (session: Http2Session): void {
    this.#sessions.add(session)
    if (this.#closing) session.close()
    session.once('close', () => {
      if (this.#sessions.delete(session)) this.#onClosed()
    })
  }

  /** GOAWAY to every session, now and on each one that arrives later. */
  closeAll (): void {
    this.#closing = true
    for (const session of this.#sessions) session.close()
  }

  /** Destroys every session left; returns how many. */
  destroyAll (): number {
    const count = this.#sessions.size
    for (const session of this.#sessions) {
      this.#sessions.delete(session)
      session.destroy()
    }
    return count
  }
}
