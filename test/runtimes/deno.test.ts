/** The conformance suite's wire scenarios on deno (see ../helpers/runtime-matrix.ts). */
import { runtimeMatrix } from '../helpers/runtime-matrix.js'

await runtimeMatrix('deno')
