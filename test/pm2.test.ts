/**
 * The README's PM2 example run with real pm2 (pinned devDependency), on a private daemon
 * (PM2_HOME in a temp folder, `pm2 kill` in the teardown whatever happens): `pm2 reload` in cluster
 * mode under keep-alive load loses no request, with and without a 3 s startup task.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { pm2Bin, privatePm2 } from '../bench/lib/pm2.mjs'
import { startLoad } from '../packages/graceful-core/test/helpers/load.js'
import { freePort } from './helpers/clients.js'

const here = dirname(fileURLToPath(import.meta.url))
const readme = readFileSync(join(here, '..', 'README.md'), 'utf8')
const [server = '', ecosystem = ''] = [...readme.slice(readme.indexOf('### PM2\n')).matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')
if (!server.includes('expressGraceful') || !ecosystem.includes('module.exports')) throw new Error('README: the PM2 section must start with server.mjs, then ecosystem.config.cjs')

interface Pm2 { run: (args: string[], o?: object) => Promise<string>, logs: () => string[], kill: () => Promise<void> }


/** Writes the example into test/ (so express and express-graceful resolve), starts it under a private pm2. */
async function startExample (t: Test, serverSource: string): Promise<{ pm2: Pm2, cwd: string, origin: string }> {
  const cwd = mkdtempSync(join(here, '.tmp-pm2-'))
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }))
  writeFileSync(join(cwd, 'server.mjs'), serverSource)
  writeFileSync(join(cwd, 'ecosystem.config.cjs'), ecosystem)
  const pm2 = privatePm2(pm2Bin(import.meta.url)) as Pm2
  t.teardown(() => pm2.kill())
  const port = await freePort()
  await pm2.run(['start', 'ecosystem.config.cjs'], { cwd, extraEnv: { PORT: String(port) } })
  return { pm2, cwd, origin: `http://127.0.0.1:${port}` }
}

const pidOf = (body: string): number => Number(/hello from (\d+)/.exec(body)?.[1])

/** Starts load, reloads, waits for answers from a new instance; returns the load's outcomes. */
async function reloadUnderLoad (t: Test, pm2: Pm2, cwd: string, origin: string): Promise<ReturnType<typeof startLoad>> {
  const load = startLoad(origin, { loops: 8, pauseMs: 5, paths: ['/'] })
  t.teardown(() => load.stop())
  await load.until((body) => pidOf(body) > 0, 'an answer from the app', 30_000)
  const before = new Set(load.outcomes.map((o) => pidOf(o.body ?? '')))
  await pm2.run(['reload', 'api'], { cwd })
  await load.until((body) => pidOf(body) > 0 && !before.has(pidOf(body)), 'an answer from a new instance', 30_000)
  await load.stop()
  return load
}

t.test('pm2 reload of the README ecosystem (cluster mode, 2 instances) under keep-alive load loses no request', async (t) => {
  const { pm2, cwd, origin } = await startExample(t, server)
  const load = await reloadUnderLoad(t, pm2, cwd, origin)
  t.same(load.failures(), [], `no failed request among ${load.outcomes.length}`)
  const reports = pm2.logs().filter((l) => l.includes('"report"')).map((l) => JSON.parse(l).report)
  t.same(reports.map((r) => [r.reason, r.exitCode]), [['SIGINT', 0], ['SIGINT', 0]], 'both old instances drained on SIGINT and exited 0')
  t.notOk(pm2.logs().some((l) => l.includes('kill_timeout')), 'the ecosystem\'s kill_timeout fits gracePeriodMs: no warning')
})

t.test('with a 3 s startup task, wait_ready keeps each old instance until its replacement is ready', async (t) => {
  // The README server, plus a startup task and a line per state change.
  const slow = server.replace('app.use(graceful.middleware)\n', `app.use(graceful.middleware)
graceful.startup('warm-up', new Promise((resolve) => setTimeout(resolve, 3000)))
graceful.on('state', (state) => console.log(JSON.stringify({ pid: process.pid, state, at: Date.now() })))
`)
  t.not(slow, server)
  const { pm2, cwd, origin } = await startExample(t, slow)
  const load = await reloadUnderLoad(t, pm2, cwd, origin)
  t.same(load.failures(), [], `no failed request among ${load.outcomes.length}`)
  const states = pm2.logs().filter((l) => l.startsWith('{"pid"')).map((l) => JSON.parse(l) as { pid: number, state: string, at: number })
  const draining = states.filter((s) => s.state === 'draining').sort((a, b) => a.at - b.at)
  const firstRunning = states.filter((s) => s.state === 'running').sort((a, b) => a.at - b.at)
  const replacements = firstRunning.filter((s) => !draining.some((d) => d.pid === s.pid))
  t.equal(draining.length, 2, 'two old instances drained')
  t.equal(replacements.length, 2, 'two new instances ran')
  // PM2 replaces instance 0, then 1: the k-th old instance may only drain after the k-th new one ran.
  draining.forEach((d, k) => t.ok(d.at >= (replacements[k]?.at ?? Infinity), `old instance ${k + 1} drained only after its replacement was ready`))
})
