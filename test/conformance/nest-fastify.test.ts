/** The conformance suite (./suite.ts) against NestJS 11 on @nestjs/platform-fastify + nestjs-graceful. */
import { conformance } from './suite.js'

conformance({ name: 'nest-fastify', app: new URL('../fixtures/apps/nest-fastify.mjs', import.meta.url) })
