/** The conformance suite (./suite.ts) against Koa 3 + koa-graceful. */
import { conformance } from './suite.js'

conformance({ name: 'koa', app: new URL('../fixtures/apps/koa.mjs', import.meta.url) })
