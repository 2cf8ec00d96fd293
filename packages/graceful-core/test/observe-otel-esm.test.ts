/**
 * OpenTelemetry from the ESM build (dist/esm), with the real SDK; and an ESM and a CJS copy of
 * graceful-core in one process record each shutdown once.
 */
import { createRequire } from 'node:module'
import t from 'tap'
import * as channels from '../dist/esm/observe/channels.js'
import * as inFlight from '../dist/esm/observe/in-flight.js'
import * as telemetry from '../dist/esm/observe/telemetry.js'
import { installSdk } from './helpers/otel.js'
import { sampleReport } from './helpers/report-fixture.js'
import { otelSuite } from './helpers/otel-suite.js'

const sdk = installSdk()

t.test('the ESM build', async (t) => {
  await otelSuite(t, { telemetry, channels, inFlight }, sdk)
})

t.test('an ESM and a CJS copy both enabled: each report is recorded once', async (t) => {
  const again = installSdk()
  t.teardown(async () => { await again.shutdown() })
  const cjs = createRequire(import.meta.url)('../dist/cjs/observe/telemetry.js') as typeof telemetry
  t.not(cjs.enableTelemetry, telemetry.enableTelemetry, 'two copies of the module')
  telemetry.enableTelemetry()
  cjs.enableTelemetry()
  t.teardown(() => { telemetry.disableTelemetry(); cjs.disableTelemetry() })
  t.equal(await telemetry.telemetryReady(), true, 'the first copy records')
  t.equal(await cjs.telemetryReady(), false, 'the second copy leaves it to the first')
  channels.publishReport(sampleReport())
  t.equal(again.spans().filter((s) => s.name === 'graceful.shutdown').length, 1, 'one shutdown span')
})
