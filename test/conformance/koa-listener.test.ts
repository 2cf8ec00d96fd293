/** The conformance suite (./suite.ts) against Koa 3 + koa-graceful's request-listener shape (no middleware). */
import { conformance } from './suite.js'

conformance({ name: 'koa-listener', app: new URL('../fixtures/apps/koa-listener.mjs', import.meta.url) })
