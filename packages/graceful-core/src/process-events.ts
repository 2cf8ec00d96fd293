/**
 * The one process-wide piece of graceful: registries that install one process listener per event
 * however many coordinators exist, and remove it when the last coordinator leaves. Listeners the
 * host installed itself are never touched.
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

export type FaultHandler = (error: unknown) => void

const faultHandlers = new Set<FaultHandler>()

function onFault (error: unknown): void {
  for (const handler of [...faultHandlers]) handler(error)
}

/**
 * Records uncaught exceptions and unhandled rejections (while a shutdown runs) instead of letting
 * them crash the process half-way. Returns the function that stops it.
 */
export function onProcessFault (handler: FaultHandler): () => void {
  if (faultHandlers.size === 0) {
    process.on('uncaughtException', onFault)
    process.on('unhandledRejection', onFault)
  }
  faultHandlers.add(handler)
  return function stop () {
    if (!faultHandlers.delete(handler) || faultHandlers.size > 0) return
    process.off('uncaughtException', onFault)
    process.off('unhandledRejection', onFault)
  }
}
