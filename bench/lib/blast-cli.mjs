// blast() in a process of its own, so the load generator can be pinned to a CPU apart from the
// server it measures: `node blast-cli.mjs '{"port":N,"durationMs":1000,"connections":50}'`.
// Prints `BENCH {"type":"blast",...}` with blast()'s result and exits.
import { blast } from './blast.mjs'

const result = await blast(JSON.parse(process.argv[2]))
process.stdout.write('BENCH ' + JSON.stringify({ type: 'blast', ...result }) + '\n')
process.exit(0)
