/**
 * graceful-core: one coordinator that turns SIGTERM into an orderly shutdown of a Node.js HTTP
 * service. See the Graceful class for the pipeline and its guarantees.
 * @module
 */
export { createGraceful, Graceful, type GracefulEvents, type ProbeRequest, type ProbeResponse } from './coordinator.js'
export type { DrainableServer } from './drain/node-http.js'
export type { RequestListener } from './request-listener.js'
export type { FetchHandler } from './drain/fetch-server.js'
export type { BunServer, DenoServer, NativeServer } from './drain/native-server.js'
export type { WebSocketLike, WebSocketServerLike } from './drain/websockets.js'
export { GracefulRangeError, GracefulStateError, GracefulTypeError, INVALID_OPTION, REGISTERED_TOO_LATE } from './errors.js'
export { summaryLine } from './report.js'
export type * from './types.js'
export type { ProbeAnswer, ProbeKind } from './probes.js'
export type { MiddlewareGraceful } from './door.js'
export { clusterPrimary, ClusterPrimary, type ClusterPrimaryEvents, type ClusterPrimaryOptions, type ReloadResult } from './cluster/primary.js'
export { timelineOf, type Timeline, type PhaseName as TimelinePhase } from './observe/timeline.js'
