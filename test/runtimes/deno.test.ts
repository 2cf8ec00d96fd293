/** The conformance suite's wire scenarios on deno (see ./matrix.ts). */
import { runtimeMatrix } from './matrix.js'

await runtimeMatrix('deno')
