/**
 * What every kind of drainable server offers the pipeline (Drainer), what it reports (its counts)
 * and what it asks of the coordinator (its watcher).
 */
export interface DrainCounts {
  closedIdle: number
  closedAfterResponse: number
  destroyed: number
  /** Responses that ended after draining began (probes never count). */
  completed: number
  /** Probe responses that ended after draining began. */
  probesAnswered: number
  /** Server-sent-event responses ended by the drain (see Drainer.endLongLived()). */
  streamsEnded: number
  /** Connections (HTTP/2 sessions) accepted after the drain began, until the listener closed. */
  acceptedWhileClosing: number
}

/** When a drainer's listener stopped accepting, and whether the drain closed it (Drainer.listener). */
export interface ListenerClose {
  /** performance.now() when the listener stopped accepting, by our close or anyone else's. */
  readonly closedAt: number | undefined
  /** True when something else (another SIGTERM handler, the application) closed the listener before the drain did. */
  readonly closedByOther: boolean
}

/** What a drainer asks of the coordinator. */
export interface DrainWatcher {
  /** True for a probe request: probes are never counted as requests, nor as traffic. */
  isProbe (req: { readonly url?: string | undefined }): boolean
  /** A request that is not a probe arrived while draining (it keeps a traffic-aware pre-stop open). */
  onTraffic (): void
  /** Someone else closed the listener before the drain did. */
  onListenerClosedByOther (): void
}

/**
 * One kind of server the drain can stop: node:http, node:https and node:http2 servers
 * (ServerDrainer), or servers that call a fetch handler, Bun.serve() and Deno.serve()
 * (FetchServerDrainer). The pipeline calls, in this order:
 * - `announceClose(spreadMs)` (shutdown began): each connection open now announces `Connection:
 *   close` once, on its first response after its turn, the turns spread over `spreadMs` (node:http;
 *   the fetch drainer, which sees no connection, on every response);
 * - `closeEveryConnection(spareUntil)` (the drain begins, before `drainSignal` aborts): every
 *   response from now on announces `Connection: close`, those the application ends on
 *   `drainSignal` included; a connection kept alive through pre-stop is ended once idle for a
 *   second, at the latest at `spareUntil`;
 * - `endLongLived(spread)` (the drain began): upgrades are refused; each long-lived response in
 *   progress is handed to `spread`, which ends it when its turn comes;
 * - `closeListener(until, force)`: stops accepting (at a moment nothing is queued, at the latest at
 *   `until`, at once when `cut` aborts) and ends connections as they become idle; `closed`
 *   resolves when none is left;
 * - `destroyRemaining()` (the deadline): cuts what is left;
 * - `detach()` (always, last): removes everything the drainer installed.
 */
export interface Drainer {
  readonly counts: DrainCounts
  /** Requests in progress right now (probes excluded). */
  readonly inFlight: number
  /** Resolves when the listener is closed and no connection is left. */
  readonly closed: Promise<void>
  /** When the listener stopped accepting, and by whom. */
  readonly listener: ListenerClose
  announceClose (spreadMs?: number): void
  /** `spareUntil` (performance clock): no connection kept alive through pre-stop is left idle past it. */
  closeEveryConnection (spareUntil?: number): void
  endLongLived (spread?: (stream: object, end: () => void) => void): void
  closeListener (until: number, force: AbortSignal): Promise<unknown>
  /** Stops accepting at once and ends connections as they become idle (a drain that failed half-way). */
  closeAndReap (): void
  /** Cuts every remaining connection; returns how many upgraded (WebSocket) sockets were among them. */
  destroyRemaining (): number
  detach (): void
}
