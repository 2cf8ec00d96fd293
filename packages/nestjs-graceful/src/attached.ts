import type { Graceful } from 'graceful-core'

/** Coordinators whose application was handed to attachGraceful(). */
const attached = new WeakSet<Graceful>()

export function markAttached (graceful: Graceful): void {
  attached.add(graceful)
}

export function isAttached (graceful: Graceful): boolean {
  return attached.has(graceful)
}
