/** The conformance suite (./suite.ts) against NestJS 12 on @nestjs/platform-express + nestjs-graceful. */
import { conformance } from './suite.js'

conformance({ name: 'nest12-express', app: new URL('../nest12/nest-express.mjs', import.meta.url) })
