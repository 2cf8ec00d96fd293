/** The conformance suite (./suite.ts) against plain node:http + graceful-core's handleProbe. */
import { conformance } from './suite.js'

conformance({ name: 'node-http', app: new URL('../fixtures/apps/node-http.mjs', import.meta.url) })
