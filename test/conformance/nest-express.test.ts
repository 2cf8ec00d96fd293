/** The conformance suite (./suite.ts) against NestJS 11 on @nestjs/platform-express + nestjs-graceful. */
import { conformance } from './suite.js'

conformance({ name: 'nest-express', app: new URL('../fixtures/apps/nest-express.mjs', import.meta.url) })
