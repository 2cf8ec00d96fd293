/**
 * What the graceful-core README's Observability examples show once the coordinator publishes:
 * the state changes and the report on the channels, and graceful's metrics on /metrics.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { request } from 'undici'
import { jsBlocks, runBlock } from './helpers/readme-code.js'

const readme = join(fileURLToPath(new URL('..', import.meta.url)), 'packages', 'graceful-core', 'README.md')

t.test('the diagnostics-channel example prints the state changes and the report', async (t) => {
  const [code] = jsBlocks(readme, 'Diagnostics channels')
  const run = runBlock(t, code ?? '')
  t.equal(await run.exited, 0)
  t.match(run.output(), /state \w+ -> draining \(example\)\nstate draining -> cleaning \(example\)\nstate cleaning -> persisting \(example\)\nstate persisting -> stopped \(example\)\nreport: exit 0 after \d+ ms\n/)
})

t.test('the Prometheus recipe shows the in-flight gauge and the check durations', async (t) => {
  const [code] = jsBlocks(readme, 'Metrics with Prometheus')
  const run = runBlock(t, code ?? '', { PORT: '0', HOST: '127.0.0.1' })
  const [, base] = await run.waitFor(/listening at (http:\/\/127\.0\.0\.1:\d+)/)
  await (await request(`${base}/ready`)).body.dump() // runs the check once
  const text = await (await request(`${base}/metrics`)).body.text()
  t.match(text, /^graceful_requests_in_flight\{[^}]*\} 0$/m, 'the scrape is a probe path, never counted as a request in flight')
  t.match(text, /^graceful_check_duration_count\{graceful_check_name="db",graceful_check_outcome="ok"[^}]*\} 1$/m)
  run.child.kill('SIGTERM')
  t.equal(await run.exited, 0)
})
