/**
 * The one process-wide piece of graceful: a registry that installs one process listener per event
 * however many coordinators exist, and removes it when the last coordinator leaves. Listeners the
 * host installed itself are never touched.
 */

type Handler = (value: unknown) => void

const handlers = new Map<string, Set<Handler>>()
const listeners = new Map<string, Handler>()

/** Calls `handler` with the first argument of each of the process `events`; returns the function that stops it. */
function onProcessEvents (events: readonly string[], handler: Handler): () => void {
  for (const event of events) {
    let set = handlers.get(event)
    if (!set) {
      const subscribers = new Set<Handler>()
      set = subscribers
      handlers.set(event, subscribers)
      // Copy first: a handler may unsubscribe while we iterate.
      const listener: Handler = (value) => { for (const h of [...subscribers]) h(value) }
      listeners.set(event, listener)
      process.on(event, listener)
    }
    set.add(handler)
  }
  return function unsubscribe () {
    for (const event of events) {
      const set = handlers.get(event)
      if (!set?.delete(handler) || set.size > 0) continue
      handlers.delete(event)
      const listener = listeners.get(event)
      listeners.delete(event)
      if (listener) process.removeListener(event, listener)
    }
  }
}

/** Calls `handler` for each of `signals` (Node passes the signal's name); returns the function that unsubscribes it. */
export function onSignals (signals: readonly NodeJS.Signals[], handler: (signal: NodeJS.Signals) => void): () => void {
  return onProcessEvents(signals, handler as Handler)
}

/**
 * Records uncaught exceptions and unhandled rejections (while a shutdown runs) instead of letting
 * them crash the process half-way. Returns the function that stops it.
 */
export function onProcessFault (handler: (error: unknown) => void): () => void {
  return onProcessEvents(['uncaughtException', 'unhandledRejection'], handler)
}
