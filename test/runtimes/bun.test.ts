/** The conformance suite's wire scenarios on bun (see ../helpers/runtime-matrix.ts). */
import { runtimeMatrix } from '../helpers/runtime-matrix.js'

await runtimeMatrix('bun')
