/**
 * nestjs-graceful: the graceful coordinator as a NestJS module, on the express and fastify
 * platforms. `GracefulModule.forRoot(options)` provides the coordinator (inject `Graceful`), answers
 * `/health` and `/ready` and drains the HTTP server; `attachGraceful(app)` makes a signal and
 * `app.close()` run the pipeline first and Nest's shutdown hooks after the drain.
 * @module
 */
import { Inject } from '@nestjs/common'
import { Graceful } from 'graceful-core'

export { attachGraceful } from './attach.js'
export { GracefulModule, type GracefulModuleAsyncOptions, type NestGracefulOptions } from './graceful.module.js'
export { Graceful } from 'graceful-core'

/** Injects the coordinator: `constructor (@InjectGraceful() private readonly graceful: Graceful)`. Same as `@Inject(Graceful)`. */
export const InjectGraceful = (): PropertyDecorator & ParameterDecorator => Inject(Graceful)
