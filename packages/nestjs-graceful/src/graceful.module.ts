import type { Server } from 'node:http'
import { type DynamicModule, type FactoryProvider, Global, Inject, Logger, Module, type ModuleMetadata, type NestModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common'
import { HttpAdapterHost } from '@nestjs/core'
import { createGraceful, Graceful, type GracefulOptions } from 'graceful-core'
import { holdStartup, loggerOf, stopWaitingFor } from 'graceful-core/door'
import { isAttached, servesThroughNestServer } from './attached.js'
import { addExpressProbes } from './express-probes.js'
import { addFastifyProbes, type FastifyLike } from './fastify-probes.js'

export type NestGracefulOptions = GracefulOptions

/** Each coordinator's hold on startup, released when Nest's init is over. */
const setupHolds = new WeakMap<Graceful, () => void>()
/** Coordinators whose probes are served (GracefulModule imported twice shares one coordinator). */
const probesServed = new WeakSet<Graceful>()
/** The coordinator of each application (its HttpAdapterHost), with the options it was made with. */
const coordinators = new WeakMap<HttpAdapterHost, { graceful: Graceful, options: NestGracefulOptions }>()

/** True when two option objects set the same values (an import repeated with the same options is harmless). */
function sameOptions (a: NestGracefulOptions, b: NestGracefulOptions): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof NestGracefulOptions>
  return [...keys].every((key) => Object.is(a[key], b[key]))
}

export interface GracefulModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Builds the options, with the providers named in `inject` (a ConfigService). */
  useFactory: (...args: never[]) => NestGracefulOptions | Promise<NestGracefulOptions>
  inject?: FactoryProvider['inject']
}

/**
 * Provides the coordinator (graceful-core's `Graceful`, also the injection token) to the whole
 * application, answers the probe routes and drains the HTTP server. Call `attachGraceful(app)`
 * after `NestFactory.create()` so that Nest's own close (its shutdown hooks) runs after the drain.
 */
export class GracefulModule implements NestModule, OnApplicationBootstrap, OnApplicationShutdown {
  constructor (
    private readonly graceful: Graceful,
    private readonly adapterHost: HttpAdapterHost
  ) {}

  /** `imports: [GracefulModule.forRoot({ preStopDelayMs: 5000 })]`; options are graceful-core's. */
  static forRoot (options: NestGracefulOptions = {}): DynamicModule {
    return GracefulModule.forRootAsync({ useFactory: () => options })
  }

  /** Options from other providers: `forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (config) => ({ ... }) })`. */
  static forRootAsync ({ imports = [], inject = [], useFactory }: GracefulModuleAsyncOptions): DynamicModule {
    return {
      module: GracefulModule,
      global: true,
      imports,
      providers: [{
        provide: Graceful,
        inject: [HttpAdapterHost, ...inject],
        // One coordinator per application (a test suite may create many from one AppModule), however
        // many modules import GracefulModule: two would each drain the one HTTP server.
        useFactory: async (host: HttpAdapterHost, ...args: never[]) => {
          const options = await useFactory(...args)
          const existing = coordinators.get(host)
          if (existing !== undefined) {
            if (!sameOptions(existing.options, options)) {
              loggerOf(existing.graceful).warn({}, 'GracefulModule is imported more than once with different options: every import shares the first one\'s coordinator and options; import GracefulModule.forRoot() once, in the root module')
            }
            return existing.graceful
          }
          const graceful = createGraceful({ logger: new Logger('Graceful'), ...options })
          coordinators.set(host, { graceful, options })
          // Nest 12 awaits imports between creating the providers and configuring the HTTP server:
          // the instance stays starting until Nest's init is over, not just one tick.
          setupHolds.set(graceful, holdStartup(graceful))
          return graceful
        }
      }],
      exports: [Graceful]
    }
  }

  /**
   * Nest calls this while it sets up the HTTP adapter, before its own middleware and routes. On
   * express the probes are answered before Nest's express app (addExpressProbes); on fastify they are fastify routes
   * (onApplicationBootstrap). Either way no guard or interceptor stands in their way, and they are
   * outside any global prefix, where Kubernetes looks for them.
   */
  configure (): void {
    const adapter = this.adapterHost.httpAdapter
    if (adapter === undefined || adapter === null) return
    const server = adapter.getHttpServer() as Server
    this.graceful.addServer(server)
    if (adapter.getType() !== 'fastify' && !probesServed.has(this.graceful)) {
      probesServed.add(this.graceful)
      addExpressProbes(this.graceful, server, adapter)
    }
    server.once('listening', () => {
      if (isAttached(this.graceful)) return
      loggerOf(this.graceful).warn({}, 'nestjs-graceful: call attachGraceful(app) after NestFactory.create(); without it a signal drains the server but Nest\'s shutdown hooks (onModuleDestroy, beforeApplicationShutdown, onApplicationShutdown) never run, and app.close() skips the drain')
    })
  }

  /** Nest's init is over (the HTTP server is configured, not yet listening): startup waits for the rest. */
  onApplicationBootstrap (): void {
    try {
      const adapter = this.adapterHost.httpAdapter
      // app.init() without app.listen(): the application serves through servers of its own (which
      // it adds), so the instance does not wait for Nest's, which is still drained if it listens.
      const server = adapter?.getHttpServer() as Server | undefined
      if (server !== undefined && isAttached(this.graceful) && !servesThroughNestServer(this.graceful) && !server.listening) stopWaitingFor(this.graceful, server)
      // After Nest's routes, so that one of the application's on a probe path is found.
      if (adapter?.getType() === 'fastify' && !probesServed.has(this.graceful)) {
        probesServed.add(this.graceful)
        addFastifyProbes(this.graceful, adapter.getInstance<FastifyLike>())
      }
    } finally {
      setupHolds.get(this.graceful)?.()
    }
  }

  /** Without attachGraceful(app), app.close() still ends the coordinator (its hooks, the report). */
  async onApplicationShutdown (signal?: string): Promise<void> {
    if (!isAttached(this.graceful)) await this.graceful.shutdown(signal ?? 'app.close()')
  }
}

// Nest's decorators, applied as the calls they compile to: the package builds and loads the same
// whatever decorator settings the application compiles with.
Inject(Graceful)(GracefulModule, undefined, 0)
Inject(HttpAdapterHost)(GracefulModule, undefined, 1)
Module({})(GracefulModule)
Global()(GracefulModule)
