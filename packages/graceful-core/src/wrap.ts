type Method = (this: unknown, ...args: never[]) => unknown

/**
 * Replaces `target[key]` (a server's `close` or `emit`, a listening handle's `onconnection`) with
 * `wrap(original)` and returns the undo, which its one owner calls in a `finally`.
 *
 * The undo is safe in any order: while ours is still the outermost method, the object gets its own
 * method back (its own property, or none when it came from the prototype); when someone wrapped it
 * again on top of ours, ours turns into a pass-through, so their wrap keeps working and calls the
 * original through it.
 */
export function wrapMethod<T extends object, K extends keyof T> (target: T, key: K, wrap: (original: T[K]) => T[K]): () => void {
  const own = Object.getOwnPropertyDescriptor(target, key)
  const original = target[key] as Method
  const wrapped = wrap(target[key]) as Method
  let active = true
  const outer = function (this: unknown, ...args: never[]): unknown {
    return Reflect.apply(active ? wrapped : original, this, args)
  }
  ;(target as Record<K, unknown>)[key] = outer
  return function unwrap () {
    active = false
    if (target[key] !== (outer as unknown)) return
    if (own !== undefined) Object.defineProperty(target, key, own)
    else delete (target as Partial<T>)[key]
  }
}
