/** The conformance suite (./suite.ts) against Hono 4 on @hono/node-server + hono-graceful's request-listener shape (no middleware). */
import { conformance } from './suite.js'

conformance({ name: 'hono-listener', app: new URL('../fixtures/apps/hono-listener.mjs', import.meta.url) })
