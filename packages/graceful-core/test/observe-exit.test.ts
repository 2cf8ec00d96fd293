/**
 * A process stopped by SIGTERM exports its own shutdown spans before it exits, although its SDK
 * batches them: the coordinator flushes the providers after the report, as it flushes the logger.
 */
import t from 'tap'
import { exitWithin, isReady, spawnFixture } from './helpers/child.js'

t.test('SIGTERM: the shutdown spans are exported before the exit', async (t) => {
  const child = spawnFixture(t, 'otel-exit.mjs')
  await child.waitForLine(isReady)
  child.kill('SIGTERM')
  t.same(await exitWithin(child), { code: 0, signal: null })
  const spans = child.lines().filter((l) => l.fixture === 'span').map((l) => l.hook ?? l.name).sort()
  t.same(spans, ['graceful.after_persist', 'graceful.cleanup', 'graceful.drain', 'graceful.persist', 'graceful.pre_stop', 'graceful.shutdown', 'save-state'])
})
