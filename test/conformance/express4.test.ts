/** The conformance suite (./suite.ts) against express 4 + express-graceful. */
import { conformance } from './suite.js'

conformance({ name: 'express4', app: new URL('../fixtures/apps/express4.mjs', import.meta.url) })
