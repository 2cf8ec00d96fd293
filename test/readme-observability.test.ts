/**
 * The graceful-core README's "Observability" examples run as written: the diagnostics-channel
 * subscriber, and the Prometheus recipe, which serves /metrics and exits 0 on SIGTERM. What the
 * channels and the metrics contain once the coordinator publishes is in readme-observability.pending.ts.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { request } from 'undici'
import { jsBlocks, runBlock } from './helpers/readme-code.js'

const readme = join(fileURLToPath(new URL('..', import.meta.url)), 'packages', 'graceful-core', 'README.md')

t.test('the diagnostics-channel example runs and exits 0', async (t) => {
  const [code] = jsBlocks(readme, 'Diagnostics channels')
  const run = runBlock(t, code ?? '')
  t.equal(await run.exited, 0, run.output())
})

t.test('the Prometheus recipe serves /metrics in the Prometheus text format and exits 0 on SIGTERM', async (t) => {
  const blocks = jsBlocks(readme, 'Metrics with Prometheus')
  t.equal(blocks.length, 1, 'one example')
  const run = runBlock(t, blocks[0] ?? '', { PORT: '0', HOST: '127.0.0.1' })
  const [, base] = await run.waitFor(/listening at (http:\/\/127\.0\.0\.1:\d+)/)
  t.equal((await request(`${base}/ready`)).statusCode, 200)
  const res = await request(`${base}/metrics`)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain/)
  t.match(await res.body.text(), /^target_info\{/m, 'the exporter answers')
  run.child.kill('SIGTERM')
  t.equal(await run.exited, 0, run.output())
})
