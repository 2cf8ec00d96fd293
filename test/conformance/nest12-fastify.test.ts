/** The conformance suite (./suite.ts) against NestJS 12 on @nestjs/platform-fastify + nestjs-graceful. */
import { conformance } from './suite.js'

conformance({ name: 'nest12-fastify', app: new URL('../nest12/nest-fastify.mjs', import.meta.url) })
