/**
 * OpenTelemetry from the ES build (dist/esm, bundled), with the real SDK, through the public API: a
 * shutdown becomes its spans, and an ESM and a CJS copy of graceful-core in one process record each
 * shutdown once. The bridge in detail runs against the CommonJS build (observe-otel-cjs.test.ts).
 */
import { createRequire } from 'node:module'
import t from 'tap'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { createGraceful, type GracefulOptions } from '../dist/esm/index.js'
import { installSdk } from './helpers/otel.js'

const sdk = installSdk()
const cjs = createRequire(import.meta.url)('../dist/cjs/index.js') as { createGraceful: typeof createGraceful }
const quiet: GracefulOptions = { signals: [], exit: false, logger: false }
const shutdownSpans = (): ReadableSpan[] => sdk.spans().filter((s) => s.name === 'graceful.shutdown')

/** The bridge loads the API asynchronously and records what was published meanwhile: wait (bounded) for `count` shutdown spans. */
async function recorded (count: number): Promise<ReadableSpan[]> {
  for (let i = 0; i < 1000 && shutdownSpans().length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  await new Promise((resolve) => setTimeout(resolve, 100)) // a copy that recorded twice would have done so by now
  return shutdownSpans()
}

t.test('a shutdown of a coordinator from the ES build becomes a graceful.shutdown span with its phases', async (t) => {
  sdk.reset()
  const report = await createGraceful(quiet).shutdown('esm')
  const [span, ...more] = await recorded(1)
  t.equal(more.length, 0, 'one shutdown span')
  t.match(span?.attributes, { 'graceful.shutdown.reason': 'esm', 'graceful.exit_code': report.exitCode })
  t.equal(sdk.spans().filter((s) => s.name === 'graceful.drain').length, 1, 'with its drain phase')
})

t.test('an ESM and a CJS copy in one process: each shutdown is recorded once', async (t) => {
  sdk.reset()
  t.not(cjs.createGraceful, createGraceful, 'two copies of the package')
  const esm = createGraceful(quiet)
  const other = cjs.createGraceful(quiet)
  await esm.shutdown('from esm')
  await other.shutdown('from cjs')
  const spans = await recorded(2)
  t.same(spans.map((s) => s.attributes['graceful.shutdown.reason']).sort(), ['from cjs', 'from esm'], 'one span per shutdown')
})
