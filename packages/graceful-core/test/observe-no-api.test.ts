/**
 * Without @opentelemetry/api installed (an optional peer): the bridge stays off in both builds,
 * leaves no channel subscriber, and a coordinator shuts down as always. Runs a copy of the build in
 * a temporary folder outside the workspace, where the peer cannot be resolved.
 */
import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'

const run = promisify(execFile)
const pkg = fileURLToPath(new URL('..', import.meta.url))

const script = `
import diagnosticsChannel from 'node:diagnostics_channel'
import { createRequire } from 'node:module'
import { createGraceful } from './graceful-core/dist/esm/index.js'
const cjs = createRequire(import.meta.url)('./graceful-core/dist/cjs/index.js')
const result = {}
try { await import('@opentelemetry/api'); result.apiFound = true } catch { result.apiFound = false }
const options = { signals: [], exit: false, logger: false }
const esm = createGraceful(options)
const other = cjs.createGraceful(options)
esm.check('db', () => true)
await esm.probe('ready')
result.exitCodes = [(await esm.shutdown('test')).exitCode, (await other.shutdown('test')).exitCode]
// The bridge gives up once the API failed to load, and leaves no subscriber (a bounded wait).
const channels = ['graceful:state', 'graceful:report', 'graceful:check'].map((name) => diagnosticsChannel.channel(name))
for (let i = 0; i < 500 && channels.some((c) => c.hasSubscribers); i++) await new Promise((resolve) => setTimeout(resolve, 10))
result.subscribed = channels.filter((c) => c.hasSubscribers).map((c) => c.name)
console.log(JSON.stringify(result))
`

t.test('without @opentelemetry/api nothing is subscribed, nothing fails, and a shutdown runs as always', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'graceful-no-otel-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(join(pkg, 'dist'), join(dir, 'graceful-core', 'dist'), { recursive: true })
  cpSync(join(pkg, 'package.json'), join(dir, 'graceful-core', 'package.json'))
  writeFileSync(join(dir, 'main.mjs'), script)
  const env = { ...process.env }
  delete env.NODE_OPTIONS // no test-runner loaders in the child
  const { stdout } = await run(process.execPath, [join(dir, 'main.mjs')], { cwd: dir, env, timeout: 30_000 })
  t.same(JSON.parse(stdout), { apiFound: false, exitCodes: [0, 0], subscribed: [] })
})
