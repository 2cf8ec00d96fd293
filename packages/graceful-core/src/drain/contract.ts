/** What a server drainer reports (its counts) and what it asks of the coordinator (its watcher). */

export interface DrainCounts {
  closedIdle: number
  closedAfterResponse: number
  forced: number
  /** Responses that ended after draining began (probes never count). */
  completed: number
  /** Probe responses that ended after draining began. */
  probesAnswered: number
  /** Server-sent-event responses ended by the drain (see ServerDrainer.endLongLived()). */
  streamsEnded: number
  /** Connections (HTTP/2 sessions) accepted after ServerDrainer.countLateAccepts(), until the listener closed. */
  acceptedAfterDrainBegan: number
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
