/** The conformance suite (./suite.ts) against express 5 + express-graceful. */
import { conformance } from './suite.js'

conformance({ name: 'express5', app: new URL('../fixtures/apps/express5.mjs', import.meta.url) })
