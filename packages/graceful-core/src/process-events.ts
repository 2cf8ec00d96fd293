/**
 * The one process-wide piece of graceful: a registry that installs one process listener per event
 * however many coordinators exist, and removes it when the last coordinator leaves. Listeners the
 * host installed itself are never touched.
 */

type Handler = (value: unknown) => void

interface Registry { handlers: Map<string, Set<Handler>>, listeners: Map<string, Handler> }

// The package ships an ESM and a CJS build, and an application can load both (or two versions):
// the registry lives on globalThis under a registered symbol so that all copies share one listener
// per event. Its shape is therefore a contract between versions: only ever add to it.
const kRegistry = Symbol.for('graceful-core.process-events')
const shared = globalThis as { [kRegistry]?: Registry }
const { handlers, listeners } = shared[kRegistry] ??= { handlers: new Map(), listeners: new Map() }

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

/**
 * How many listeners for `signal` someone else installed (a framework's own shutdown handler, such as
 * NestJS `enableShutdownHooks()`): they run alongside graceful's and usually close the server at once.
 */
export function foreignSignalListeners (signal: string): number {
  const ours = listeners.get(signal)
  return process.listeners(signal as NodeJS.Signals).filter((listener) => listener !== ours && !isSignalExit(listener)).length
}

/**
 * signal-exit (loaded by tap, execa, write-file-atomic and many more) listens to every signal but
 * steps aside whenever any other listener exists, so it never competes with graceful. Its listener is
 * recognised by its body, which compares `process.listeners(sig)` with its own count.
 */
function isSignalExit (listener: object): boolean {
  return String(listener).includes('listeners(sig)')
}
