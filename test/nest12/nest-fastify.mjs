/** NestJS 12 on @nestjs/platform-fastify + nestjs-graceful, for the conformance server (see ../fixtures/server.mjs). */
import { nestAppFactory } from '../fixtures/apps/nest-app.mjs'
import * as nest from './nest12.mjs'

export const createApp = nestAppFactory(nest, () => new nest.FastifyAdapter())
