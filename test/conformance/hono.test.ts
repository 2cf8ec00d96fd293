/** The conformance suite (./suite.ts) against Hono 4 on @hono/node-server + hono-graceful. */
import { conformance } from './suite.js'

conformance({ name: 'hono', app: new URL('../fixtures/apps/hono.mjs', import.meta.url) })
