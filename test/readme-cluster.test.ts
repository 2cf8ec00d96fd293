/**
 * The README's node:cluster example as written: two workers answer, SIGHUP replaces both without a
 * failed request, SIGTERM stops everything with exit 0.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { startLoad } from '../packages/graceful-core/test/helpers/load.js'

const here = dirname(fileURLToPath(import.meta.url))
const readme = readFileSync(join(here, '..', 'README.md'), 'utf8')
const example = /```js\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('### node:cluster\n')))?.[1] ?? ''

t.test('the README cluster example reloads on SIGHUP without a failed request and exits 0 on SIGTERM', async (t) => {
  t.match(example, /clusterPrimary\(/)
  const dir = mkdtempSync(join(here, '.tmp-cluster-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'cluster.mjs'), example)
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as net.AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  const child = spawn(process.execPath, [join(dir, 'cluster.mjs')], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PORT: String(port) } })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const pidOf = (body: string): number => Number(/hello from (\d+)/.exec(body)?.[1])

  const load = startLoad(`http://127.0.0.1:${port}`, { loops: 4, paths: ['/'], pauseMs: 5 })
  t.teardown(() => load.stop())
  // Keep-alive connections made before the second worker listened all stay on the first: any answer will do.
  await load.until((body) => pidOf(body) > 0, 'an answer from a worker', 30_000)
  // Connects refused before the first worker listened are not part of the reload.
  const before = load.outcomes.length
  child.kill('SIGHUP')
  let fresh: number[] = []
  for (let i = 0; i < 300 && fresh.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const line = out.split('\n').find((l) => l.includes('"reload complete"'))
    if (line) fresh = JSON.parse(line).workers as number[]
  }
  t.equal(fresh.length, 2, 'the primary replaced both workers')
  await load.until((body) => fresh.includes(pidOf(body)), 'an answer from a new worker', 30_000)
  await load.stop()
  t.same(load.outcomes.slice(before).filter((o) => o.error !== undefined || o.status !== 200), [], 'no failed request during the reload')
  child.kill('SIGTERM')
  t.equal(await exited, 0)
})
