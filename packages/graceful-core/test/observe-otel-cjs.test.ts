/** OpenTelemetry from the CommonJS build (dist/cjs, loaded with require), with the real SDK. */
import { createRequire } from 'node:module'
import t from 'tap'
import { installSdk, type ObserveBuild } from './helpers/otel.js'
import { otelSuite } from './helpers/otel-suite.js'

const require = createRequire(import.meta.url)
const build: ObserveBuild = {
  telemetry: require('../dist/cjs/observe/telemetry.js'),
  channels: require('../dist/cjs/observe/channels.js'),
  inFlight: require('../dist/cjs/observe/in-flight.js')
}
const sdk = installSdk()

t.test('the CommonJS build', async (t) => {
  await otelSuite(t, build, sdk)
})
