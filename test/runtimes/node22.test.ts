/** The conformance suite's wire scenarios on node22 (see ../helpers/runtime-matrix.ts). */
import { runtimeMatrix } from '../helpers/runtime-matrix.js'

await runtimeMatrix('node22')
