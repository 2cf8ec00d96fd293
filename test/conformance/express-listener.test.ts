/** The conformance suite (./suite.ts) against express 5 + express-graceful's request-listener shape (no middleware). */
import { conformance } from './suite.js'

conformance({ name: 'express-listener', app: new URL('../fixtures/apps/express5-listener.mjs', import.meta.url) })
