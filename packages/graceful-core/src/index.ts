/**
 * graceful-core: one coordinator that turns SIGTERM into an orderly shutdown of a Node.js HTTP
 * service. See the Graceful class for the pipeline and its guarantees.
 * @module
 */
export { createGraceful, Graceful, type GracefulEvents, kAdoptRequest, kFrameworkCleanup, kHoldStartup, kLogger, type ProbeRequest, type ProbeResponse } from './coordinator.js'
export type { DrainableServer } from './drain/server-drainer.js'
export type { WebSocketLike, WebSocketServerLike } from './drain/websockets.js'
export { GracefulRangeError, GracefulStateError, GracefulTypeError, INVALID_OPTION, REGISTERED_TOO_LATE } from './errors.js'
export { summaryLine } from './report.js'
export type * from './types.js'
export { pathOf, probeAnswer, type ProbeAnswer, type ProbeKind, readinessOf } from './probes.js'
export { writeFileAtomic } from './atomic-file.js'
export { bridgeFrameworkClose, type FrameworkCloseBridge, middlewareDoor, type MiddlewareGraceful } from './door.js'
export { clusterPrimary, ClusterPrimary, type ClusterPrimaryEvents, type ClusterPrimaryOptions, type ReloadResult } from './cluster/primary.js'
export { timelineOf, type Timeline, type PhaseName as TimelinePhase } from './observe/timeline.js'
