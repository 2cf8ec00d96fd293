import type { Graceful } from 'graceful-core'

/** Coordinators whose application was handed to attachGraceful(). */
const attached = new WeakSet<Graceful>()

export function markAttached (graceful: Graceful): void {
  attached.add(graceful)
}

export function isAttached (graceful: Graceful): boolean {
  return attached.has(graceful)
}

/** Coordinators whose application called `app.listen()`: Nest's own server is the one that serves. */
const listenCalled = new WeakSet<Graceful>()

export function markListenCalled (graceful: Graceful): void {
  listenCalled.add(graceful)
}

export function servesThroughNestServer (graceful: Graceful): boolean {
  return listenCalled.has(graceful)
}
