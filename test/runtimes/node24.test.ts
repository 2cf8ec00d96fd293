/** The conformance suite's wire scenarios on node24 (see ./matrix.ts). */
import { runtimeMatrix } from './matrix.js'

await runtimeMatrix('node24')
