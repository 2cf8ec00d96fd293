/**
 * graceful's diagnostics channels as a subscriber sees them: graceful:state, graceful:report and
 * graceful:check, from either build, and nothing to receive once unsubscribed.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { createRequire } from 'node:module'
import t from 'tap'
import { CHECK_CHANNEL, publishCheck, publishReport, publishState, REPORT_CHANNEL, STATE_CHANNEL } from '../src/observe/channels.js'
import { listen } from './helpers/otel.js'
import { sampleReport } from './helpers/report-fixture.js'

t.test('the channel names are the documented ones', async (t) => {
  t.same([STATE_CHANNEL, REPORT_CHANNEL, CHECK_CHANNEL], ['graceful:state', 'graceful:report', 'graceful:check'])
})

t.test('graceful:state carries from, to, reason and an epoch-milliseconds time', async (t) => {
  const seen = listen(t, 'graceful:state')
  const before = Date.now()
  publishState('running', 'draining', 'SIGTERM')
  const after = Date.now()
  t.equal(seen.length, 1)
  const [message] = seen as Array<{ from: string, to: string, reason: string, at: number }>
  t.match(message, { from: 'running', to: 'draining', reason: 'SIGTERM' })
  t.ok(message && message.at >= before - 1 && message.at <= after + 1, 'at is on the same clock as Date.now()')
})

t.test('graceful:report carries the report object itself', async (t) => {
  const seen = listen(t, 'graceful:report')
  const report = sampleReport()
  publishReport(report)
  t.equal(seen[0], report)
})

t.test('graceful:check carries name, outcome and duration', async (t) => {
  const seen = listen(t, 'graceful:check')
  publishCheck('db', 'timeout', 1000.5)
  t.same(seen, [{ name: 'db', outcome: 'timeout', durationMs: 1000.5 }])
})

t.test('without a subscriber nothing is delivered and nothing throws', async (t) => {
  const seen: unknown[] = []
  const onMessage = (message: unknown): void => { seen.push(message) }
  diagnosticsChannel.subscribe('graceful:state', onMessage)
  diagnosticsChannel.unsubscribe('graceful:state', onMessage)
  t.equal(diagnosticsChannel.channel('graceful:state').hasSubscribers, false)
  t.doesNotThrow(() => {
    publishState('draining', 'cleaning', 'SIGTERM')
    publishReport(sampleReport())
    publishCheck('db', 'ok', 1)
  })
  t.same(seen, [])
})

t.test('the CommonJS build publishes into the same channels', async (t) => {
  const seen = listen(t, 'graceful:check')
  const cjs = createRequire(import.meta.url)('../dist/cjs/observe/channels.js') as { publishCheck: typeof publishCheck }
  cjs.publishCheck('cache', 'fail', 3)
  t.same(seen, [{ name: 'cache', outcome: 'fail', durationMs: 3 }])
})
