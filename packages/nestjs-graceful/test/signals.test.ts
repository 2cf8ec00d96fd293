/**
 * nestjs-graceful under real signals (a child process per case, test/fixtures/lifecycle.mjs): the
 * pipeline owns SIGTERM, Nest's shutdown hooks run after the drain with the signal's name, and
 * Nest's own enableShutdownHooks() is made harmless.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'

const FIXTURE = fileURLToPath(new URL('./fixtures/lifecycle.mjs', import.meta.url))
/** Hang guard for the child to start or to exit (Nest's import on a loaded 2-core machine). */
const GUARD_MS = 20_000

type Line = Record<string, unknown>

interface Child {
  lines: Line[]
  port: number
  kill: (signal: NodeJS.Signals) => void
  waitFor: (match: (line: Line) => boolean, what: string) => Promise<Line>
  exited: Promise<number | null>
}

async function startApp (t: Test, platform: 'express' | 'fastify', shutdownHooks: 'none' | 'before' | 'after' = 'none'): Promise<Child> {
  const child = spawn(process.execPath, [FIXTURE, platform, shutdownHooks], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const lines: Line[] = []
  const waiters = new Set<() => void>()
  let buffered = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    let newline
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const text = buffered.slice(0, newline)
      buffered = buffered.slice(newline + 1)
      try { lines.push(JSON.parse(text) as Line) } catch { lines.push({ raw: text }) }
    }
    for (const waiter of waiters) waiter()
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    resolve(code)
    for (const waiter of waiters) waiter()
  }))
  const waitFor = (match: (line: Line) => boolean, what: string): Promise<Line> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`hang guard: ${what} within ${GUARD_MS} ms; stderr: ${stderr}`)), GUARD_MS)
    const check = (): void => {
      const line = lines.find(match)
      if (line) finish(undefined, line)
      else if (child.exitCode !== null) finish(new Error(`exited before ${what}; stderr: ${stderr}`))
    }
    function finish (error?: Error, line?: Line): void {
      clearTimeout(timer)
      waiters.delete(check)
      if (error) reject(error)
      else resolve(line as Line)
    }
    waiters.add(check)
    check()
  })
  const listening = await waitFor((line) => line.marker === 'listening', 'the listening marker')
  return { lines, port: Number(listening.port), kill: (signal) => child.kill(signal), waitFor, exited }
}

const markerAt = (lines: Line[], marker: string): number => lines.findIndex((line) => line.marker === marker)
const NEST_HOOKS = ['onModuleDestroy', 'beforeApplicationShutdown', 'onApplicationShutdown']

for (const platform of ['express', 'fastify'] as const) {
  t.test(`on ${platform}, SIGTERM drains first; then Nest's onModuleDestroy, beforeApplicationShutdown and onApplicationShutdown run in that order with 'SIGTERM', after the persist hooks; exit 0`, async (t) => {
    const app = await startApp(t, platform)
    app.kill('SIGTERM')
    const code = await Promise.race([app.exited, app.waitFor(() => false, 'the exit').then(() => -1)])
    t.equal(code, 0, 'the process exits 0')
    const order = ['server-closed', 'persist', ...NEST_HOOKS, 'exit'].map((marker) => markerAt(app.lines, marker))
    t.ok(order.every((at) => at !== -1), 'every step happened', { order })
    t.same([...order].sort((a, b) => a - b), order, 'the drain, then persistence, then Nest\'s hooks in Nest\'s order')
    t.same(app.lines.filter((line) => line.marker === 'beforeApplicationShutdown' || line.marker === 'onApplicationShutdown').map((line) => line.signal),
      ['SIGTERM', 'SIGTERM'], 'Nest\'s hooks receive the signal name')
    t.equal(app.lines.find((line) => line.marker === 'onModuleDestroy')?.state, 'persisting', 'the coordinator is past its drain when Nest starts closing')
    t.ok(app.lines.some((line) => line.context === 'Graceful' && String(line.message).startsWith('shutdown complete (SIGTERM)')),
      'the summary goes through Nest\'s Logger')
  })
}

for (const when of ['before', 'after'] as const) {
  t.test(`app.enableShutdownHooks() called ${when} attachGraceful() is warned about and made harmless: the pre-stop window serves, Nest's hooks run once after the drain, exit 0`, async (t) => {
    const app = await startApp(t, 'express', when)
    const warnings = app.lines.filter((line) => line.level === 'warn' && String(line.message).startsWith('app.enableShutdownHooks() is ignored'))
    t.equal(warnings.length, 1, 'one warning says the call is ignored')
    app.kill('SIGTERM')
    await app.waitFor((line) => String(line.message).startsWith('shutdown started'), 'the shutdown to start')
    const origin = `http://127.0.0.1:${app.port}`
    const [hello, ready] = await Promise.all(['/hello', '/ready'].map(async (path) => {
      const res = await request(origin + path, { reset: true })
      await res.body.dump()
      return res.statusCode
    }))
    t.equal(hello, 200, 'a route is still served during pre-stop (Nest did not close the server)')
    t.equal(ready, 503, '/ready answers 503 during pre-stop')
    t.equal(await Promise.race([app.exited, app.waitFor(() => false, 'the exit').then(() => -1)]), 0, 'the process exits 0')
    for (const hook of NEST_HOOKS) t.equal(app.lines.filter((line) => line.marker === hook).length, 1, `${hook} ran once`)
    t.ok(markerAt(app.lines, 'server-closed') < markerAt(app.lines, 'onModuleDestroy'), 'Nest\'s hooks ran after the drain')
    t.notOk(app.lines.some((line) => /second SIGTERM|forcing/.test(String(line.message))), 'nothing was forced')
  })
}
