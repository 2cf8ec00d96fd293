/**
 * The README's "Spreading the closes" example, run as written: its WebSocket clients are closed
 * with 1012 over the 3 s window and the process exits 0.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import WebSocket from 'ws'
import { within } from './helpers/fixture.js'

const here = dirname(fileURLToPath(import.meta.url))
const HEADING = '### Spreading the closes\n'
const CLIENTS = 30
const SPREAD_MS = 3000
/** Hang guard for each wait below. */
const GUARD_MS = 20_000

function example (): string {
  const readme = readFileSync(join(here, '..', 'README.md'), 'utf8')
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf(HEADING)))?.[1]
  if (readme.indexOf(HEADING) === -1 || block === undefined) throw new Error(`no js block under '${HEADING.trim()}' in README.md`)
  return block
}

t.test('the README long-lived example closes its WebSockets with 1012 over its window and exits 0', async (t) => {
  // Written inside test/ so 'ws' and 'graceful-core' resolve from this package.
  const dir = mkdtempSync(join(here, '.tmp-readme-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'long-lived-example.mjs')
  writeFileSync(file, example())
  const child = spawn(process.execPath, [file], { env: { ...process.env, PORT: '0', KUBERNETES_SERVICE_HOST: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const port = await within(new Promise<number>((resolve) => {
    child.stdout.on('data', () => {
      const match = /listening on (\d+)/.exec(output)
      if (match) resolve(Number(match[1]))
    })
  }), GUARD_MS, 'the listening line')

  const closes: Array<Promise<{ code: number, at: number }>> = []
  const clients: WebSocket[] = []
  for (let i = 0; i < CLIENTS; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
    t.teardown(() => { ws.terminate() })
    ws.on('error', () => {})
    closes.push(new Promise((resolve) => ws.once('close', (code) => resolve({ code, at: performance.now() }))))
    await within(once(ws, 'open'), GUARD_MS, 'a WebSocket to open')
    clients.push(ws)
  }
  const echoed = new Promise<string>((resolve) => clients[0]!.once('message', (data) => resolve(String(data))))
  clients[0]!.send('last words')
  t.equal(await within(echoed, GUARD_MS, 'the echo'), 'echo last words', 'the example echoes (precondition)')

  child.kill('SIGTERM')
  const closed = await within(Promise.all(closes), GUARD_MS, 'every close')
  t.same(new Set(closed.map((c) => c.code)), new Set([1012]), 'every client sees close 1012')
  const span = Math.max(...closed.map((c) => c.at)) - Math.min(...closed.map((c) => c.at))
  t.ok(span >= SPREAD_MS / 2, `the closes arrived over ${Math.round(span)} ms of the ${SPREAD_MS} ms window`)
  t.equal(await within(exited, GUARD_MS, 'the exit'), 0, 'exits 0')
  const { report } = JSON.parse(output.split('\n').filter((line) => line.includes('"report"')).pop() ?? '{}')
  t.match(report?.longLived, { webSocketsClosed: CLIENTS, webSocketsTerminated: 0, closeCodes: { 1012: CLIENTS }, spreadMs: SPREAD_MS }, 'the report counts them by code, with the window')
})
