/**
 * The door protocol: what a door (fastify-graceful, express-graceful, …) may ask of the coordinator
 * beyond its public API. Symbols, so the API a user sees stays what the README says.
 */

/** Hands over a request whose server may not be added yet (see Graceful[kAdoptRequest]). */
export const kAdoptRequest = Symbol('graceful.adoptRequest')
/** Registers the framework's own close as the very last cleanup (see Graceful[kFrameworkCleanup]). */
export const kFrameworkCleanup = Symbol('graceful.frameworkCleanup')
/** The coordinator's resolved logger (never undefined), for a door's own warnings. */
export const kLogger = Symbol('graceful.logger')
/** Holds the instance in `starting` until the returned release is called (see StartupGate.hold()). */
export const kHoldStartup = Symbol('graceful.holdStartup')
