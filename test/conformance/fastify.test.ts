/** The conformance suite (./suite.ts) against fastify + fastify-graceful. */
import { conformance } from './suite.js'

conformance({ name: 'fastify', app: new URL('../fixtures/apps/fastify.mjs', import.meta.url) })
