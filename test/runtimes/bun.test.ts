/** The conformance suite's wire scenarios on bun (see ./matrix.ts). */
import { runtimeMatrix } from './matrix.js'

await runtimeMatrix('bun')
