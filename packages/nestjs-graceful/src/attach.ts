import { constants } from 'node:os'
import type { INestApplicationContext } from '@nestjs/common'
import { Graceful } from 'graceful-core'
import { bridgeFrameworkClose, loggerOf } from 'graceful-core/door'
import { isAttached, markAttached, markListenCalled } from './attached.js'

/** What NestApplicationContext has besides its public interface (Nest 11 and 12). */
interface NestInternals {
  /** Nest's close accepts the signal its shutdown hooks receive. */
  close (signal?: string): Promise<void>
  enableShutdownHooks (...args: unknown[]): unknown
  /** An HTTP application's (not a standalone context's): init(), then listening on Nest's server. */
  listen?: (...args: unknown[]) => Promise<unknown>
  /** Set by enableShutdownHooks(): Nest's own listener for the shutdown signals (Nest 11). */
  shutdownCleanupRef?: unknown
  /** The same in Nest 12: its listener by signal, empty until enableShutdownHooks(). */
  shutdownCleanupRefs?: ReadonlyMap<string, unknown>
  unsubscribeFromProcessSignals?: () => void
}

const IGNORED_SHUTDOWN_HOOKS = 'app.enableShutdownHooks() is ignored: graceful owns the signals and runs Nest\'s shutdown hooks ' +
  '(onModuleDestroy, beforeApplicationShutdown, onApplicationShutdown) after the drain; remove the call'

/**
 * Hands the application to its coordinator and returns the coordinator. From then on:
 * - a signal runs the whole pipeline (pre-stop, drain, cleanup, persist), and Nest's own close runs
 *   last: onModuleDestroy → beforeApplicationShutdown → onApplicationShutdown, with the signal name;
 * - `app.close()` runs the same pipeline and resolves; it never ends the process;
 * - `app.enableShutdownHooks()` (Nest's signal handling, which would close the server before the
 *   load balancer caught up) is switched off, with a warning;
 * - the instance is ready once Nest's server listens if `app.listen()` is called, else once
 *   `app.init()` is over and the servers the application added listen.
 */
export function attachGraceful<App extends INestApplicationContext> (app: App): Graceful {
  let graceful: Graceful
  try {
    graceful = app.get(Graceful)
  } catch {
    throw new Error('attachGraceful(app): no coordinator found; add GracefulModule.forRoot() to the imports of the root module')
  }
  if (isAttached(graceful)) return graceful
  markAttached(graceful)

  const nest = app as unknown as NestInternals
  // Nest's own close, from the prototype: `app.close` goes through NestFactory's Proxy, which looks
  // the method up at call time and would find the replacement below.
  const nestClose = (Object.getPrototypeOf(app) as NestInternals).close.bind(app)
  let closeSignal: string | undefined
  const bridge = bridgeFrameworkClose(graceful, 'nest', () => nestClose(closeSignal ?? signalOf(graceful)))

  replaceMethod(app, 'close', async function close (signal?: string): Promise<void> {
    closeSignal ??= signal
    await bridge.close(signal ?? 'app.close()')
  })

  // The instance waits for Nest's server to listen only if the application listens on it: with
  // app.init() and servers of the application's own, that server never listens (graceful.module.ts).
  const nestListen = (Object.getPrototypeOf(app) as NestInternals).listen
  if (typeof nestListen === 'function') {
    // `this`: the application itself, as NestFactory's Proxy calls it (listen() sets its fields, which the Proxy would refuse).
    replaceMethod(app, 'listen', async function listen (this: unknown, ...args: unknown[]): Promise<unknown> {
      markListenCalled(graceful)
      return await nestListen.apply(this, args)
    })
  }

  const warn = (message: string): void => loggerOf(graceful).warn({}, message)
  if (nest.shutdownCleanupRef !== undefined || (nest.shutdownCleanupRefs?.size ?? 0) > 0) {
    nest.unsubscribeFromProcessSignals?.()
    warn(IGNORED_SHUTDOWN_HOOKS)
  }
  replaceMethod(app, 'enableShutdownHooks', function enableShutdownHooks () {
    warn(IGNORED_SHUTDOWN_HOOKS)
    return app
  })
  return graceful
}

/**
 * NestFactory returns the application behind a Proxy whose `set` trap ignores assignments;
 * defineProperty reaches the application itself, and the Proxy's `get` then finds the own method.
 */
function replaceMethod<K extends keyof NestInternals> (app: object, name: K, method: NestInternals[K]): void {
  Object.defineProperty(app, name, { value: method, writable: true, configurable: true, enumerable: false })
}

/** The signal that started the run, for Nest's hooks (undefined when code started it). */
function signalOf (graceful: Graceful): string | undefined {
  const reason = graceful.shutdownReason
  return reason !== undefined && reason in constants.signals ? reason : undefined
}
