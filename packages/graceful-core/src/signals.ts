/**
 * The one process-wide piece of graceful: a registry that installs one listener per signal however
 * many coordinators exist, and removes it when the last coordinator leaves. Listeners the host
 * installed itself are never touched.
 */

export type SignalHandler = (signal: NodeJS.Signals) => void

const handlers = new Map<NodeJS.Signals, Set<SignalHandler>>()
const listeners = new Map<NodeJS.Signals, (signal: NodeJS.Signals) => void>()

function dispatch (signal: NodeJS.Signals): void {
  // Copy first: a handler may unsubscribe while we iterate.
  for (const handler of [...(handlers.get(signal) ?? [])]) handler(signal)
}

/** Calls `handler` for each of `signals`; returns the function that unsubscribes it. */
export function onSignals (signals: readonly NodeJS.Signals[], handler: SignalHandler): () => void {
  for (const signal of signals) {
    let set = handlers.get(signal)
    if (!set) {
      set = new Set()
      handlers.set(signal, set)
      const listener = (): void => dispatch(signal)
      listeners.set(signal, listener)
      process.on(signal, listener)
    }
    set.add(handler)
  }
  return function unsubscribe () {
    for (const signal of signals) {
      const set = handlers.get(signal)
      if (!set?.delete(handler) || set.size > 0) continue
      handlers.delete(signal)
      const listener = listeners.get(signal)
      listeners.delete(signal)
      if (listener) process.removeListener(signal, listener)
    }
  }
}
