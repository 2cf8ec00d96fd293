/**
 * Where the `graceful.requests.in_flight` gauge reads from: every coordinator registers itself here
 * once, and the gauge sums `[kInFlight]` over the ones still alive when a metric reader collects.
 *
 * Held through WeakRefs, so registering never keeps a coordinator alive. Like the process-event
 * registry, the set lives on globalThis under a registered symbol: the ESM and the CJS build (or
 * two versions) share it, and whichever copy created the gauge sees every coordinator. Its shape is
 * a contract between versions: only ever add to it.
 * @module
 */

/** The getter a coordinator implements: requests it is serving right now (all its servers). */
export const kInFlight = Symbol.for('graceful-core.inFlight')

export interface InFlightSource {
  readonly [kInFlight]: number
}

const kSources = Symbol.for('graceful-core.in-flight-sources')
const shared = globalThis as { [kSources]?: Set<WeakRef<InFlightSource>> }
const sources = shared[kSources] ??= new Set()

/** Registers a coordinator (idempotent per object is not needed: each coordinator calls it once, at creation). */
export function registerInFlightSource (source: InFlightSource): void {
  prune()
  sources.add(new WeakRef(source))
}

/** Requests in flight across every live coordinator of the process. */
export function inFlightTotal (): number {
  let total = 0
  for (const ref of sources) {
    const source = ref.deref()
    if (source === undefined) {
      sources.delete(ref)
      continue
    }
    const count = source[kInFlight]
    // A source from another version that lacks the getter must not turn the sum into NaN.
    if (typeof count === 'number' && Number.isFinite(count)) total += count
  }
  return total
}

/** Forgets coordinators that were garbage-collected, so a process creating many stays small. */
function prune (): void {
  for (const ref of sources) if (ref.deref() === undefined) sources.delete(ref)
}
