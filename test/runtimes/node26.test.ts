/** The conformance suite's wire scenarios on node26 (see ./matrix.ts). */
import { runtimeMatrix } from './matrix.js'

await runtimeMatrix('node26')
