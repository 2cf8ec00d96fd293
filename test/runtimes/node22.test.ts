/** The conformance suite's wire scenarios on node22 (see ./matrix.ts). */
import { runtimeMatrix } from './matrix.js'

await runtimeMatrix('node22')
