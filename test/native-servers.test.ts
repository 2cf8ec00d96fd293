/**
 * Hono on the runtimes' own servers, Bun.serve() and Deno.serve(), under graceful: the README's
 * examples ("Hono on Bun.serve", "Hono on Deno.serve") and a fixture with a request that never
 * answers run as real Bun and Deno processes receiving a real SIGTERM; the clients run here, on Node.
 */
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import t, { type Test } from 'tap'
import { Pool } from 'undici'
import { installRuntimes, runtimeCommand } from '../scripts/runtimes.mjs'
import { jsBlocks, type Launcher, runBlock } from './helpers/readme-code.js'

const readme = new URL('../README.md', import.meta.url).pathname
const fixture = readFileSync(new URL('./fixtures/native-hono.mjs', import.meta.url), 'utf8')

const RUNTIMES = [
  { name: 'bun', server: 'Bun.serve' },
  { name: 'deno', server: 'Deno.serve' }
] as const

t.before(async () => { await installRuntimes(RUNTIMES.map((runtime) => runtime.name)) })

/** Rejects when `promise` does not settle within `ms` (a hang guard, not a timing assertion). */
async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const guard = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms) })
  try {
    return await Promise.race([promise, guard])
  } finally {
    clearTimeout(timer)
  }
}

/** The ShutdownReport of the coordinator's last log line. */
function reportOf (output: string): Record<string, any> {
  const line = output.split('\n').reverse().find((l) => l.includes('"report":'))
  if (line === undefined) throw new Error(`no report in:\n${output}`)
  return JSON.parse(line).report
}

function pools (t: Test, port: number): { probes: Pool, traffic: Pool } {
  // Probes on their own connections, as a load balancer's health checker has them.
  const probes = new Pool(`http://127.0.0.1:${port}`, { connections: 1 })
  const traffic = new Pool(`http://127.0.0.1:${port}`, { connections: 4 })
  t.teardown(async () => { await Promise.all([probes.destroy(), traffic.destroy()]) })
  return { probes, traffic }
}

/**
 * One keep-alive connection, written to by hand so the test sees what the server does with it: the
 * response head as sent, and whether the server ends the connection (`ended`).
 */
async function keepAliveConnection (t: Test, port: number): Promise<{ get: (path: string) => Promise<{ head: string, body: string }>, ended: Promise<unknown> }> {
  const socket = net.connect(port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  await within(once(socket, 'connect'), 10_000, 'connect')
  socket.setEncoding('latin1')
  let received = ''
  socket.on('data', (chunk: string) => { received += chunk })
  const ended = once(socket, 'end')
  ended.catch(() => {})
  const get = async (path: string): Promise<{ head: string, body: string }> => {
    received = ''
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
    const complete = new Promise<{ head: string, body: string }>((resolve) => {
      const look = (): void => {
        const split = received.indexOf('\r\n\r\n')
        if (split === -1) return
        const head = received.slice(0, split)
        const length = Number(/^content-length: *(\d+)/im.exec(head)?.[1] ?? 0)
        const body = received.slice(split + 4)
        if (body.length < length) return
        socket.off('data', look)
        resolve({ head, body })
      }
      socket.on('data', look)
      look()
    })
    return await within(complete, 10_000, `GET ${path} on the kept connection`)
  }
  return { get, ended }
}

for (const runtime of RUNTIMES) {
  const launch: Launcher = (file) => runtimeCommand(runtime.name, file)

  t.test(`README "Hono on ${runtime.server}": probes, pre-stop with Connection: close, the drain, hooks, exit 0`, async (t) => {
    const [code] = jsBlocks(readme, `Hono on ${runtime.server}`)
    const run = runBlock(t, code ?? '', { PORT: '0', HOST: '127.0.0.1', PRESTOP_DELAY_MS: '2000', GRACE_PERIOD_MS: '10000' }, launch)
    const port = Number((await run.waitFor(/listening at http:\/\/127\.0\.0\.1:(\d+)/))[1])
    const { probes, traffic } = pools(t, port)
    t.equal((await probes.request({ method: 'GET', path: '/ready' })).statusCode, 200, '/ready is 200 while running')

    const kept = await keepAliveConnection(t, port)
    const before = await kept.get('/')
    t.match(before.head, /^HTTP\/1\.1 200/, 'a request on a keep-alive connection before the signal')
    t.notMatch(before.head, /^connection: close/im, 'without Connection: close')

    const slow = traffic.request({ method: 'GET', path: '/slow?ms=1500' })
    run.child.kill('SIGTERM')
    await run.waitFor(/shutdown started/)
    const ready = await probes.request({ method: 'GET', path: '/ready' })
    t.equal(ready.statusCode, 503, '/ready answers 503 during pre-stop')
    t.same(await ready.body.json(), { status: 'draining', ready: false })

    const during = await kept.get('/')
    t.match(during.head, /^HTTP\/1\.1 200/, 'a real route still answers 200 during pre-stop, on the kept connection')
    t.match(during.head, /^connection: close/im, 'with Connection: close')
    t.same(JSON.parse(during.body), { hello: 'world' })
    // Bun closes the connection after such a response; Deno leaves the close to the client.
    if (runtime.name === 'bun') await within(kept.ended, 10_000, 'the server ending the kept connection')

    const answered = await slow
    t.equal(answered.statusCode, 200, 'the request sent before the signal completes')
    t.same(await answered.body.json(), { done: true })

    t.equal(await within(run.exited, 20_000, 'exit'), 0, 'exits 0')
    const report = reportOf(run.output())
    t.match(report, { reason: 'SIGTERM', exitCode: 0, forced: false, requests: { completedAfterSignal: 2 }, sockets: { destroyed: 0 } })
    t.same(report.hooks.map((h: { name: string, outcome: string }) => `${h.name}:${h.outcome}`), ['db:ok', 'counters:ok'], 'the cleanup and persist hooks ran')
    t.match(run.output(), /"msg":"db closed"[\s\S]*"msg":"counters saved"/, 'in that order')
  })

  for (const stuck of [false, true]) {
    const title = stuck
      ? 'the request in progress at SIGTERM completes, a stuck one is cut at the deadline, exit 1'
      : 'the request in progress at SIGTERM completes, exit 0'
    t.test(`Hono on ${runtime.server}: ${title}`, async (t) => {
      const run = runBlock(t, fixture, { PRESTOP_DELAY_MS: '300', GRACE_PERIOD_MS: '5000' }, launch)
      const port = Number((await run.waitFor(/"fixture":"listening","port":(\d+)/))[1])
      const { traffic } = pools(t, port)
      const slow = traffic.request({ method: 'GET', path: '/slow?ms=1500' })
      await run.waitFor(/"path":"\/slow"/)
      const cut = stuck ? traffic.request({ method: 'GET', path: '/stuck' }).then(() => undefined, (error: unknown) => error) : undefined
      if (stuck) await run.waitFor(/"path":"\/stuck"/)
      run.child.kill('SIGTERM')

      const answered = await slow
      t.equal(answered.statusCode, 200, 'the request in progress at the signal completes')
      t.same(await answered.body.json(), { done: true })
      if (cut) t.type(await within(cut, 20_000, 'the stuck request'), Error, 'the stuck request is cut')

      t.equal(await within(run.exited, 20_000, 'exit'), stuck ? 1 : 0, stuck ? 'exits 1: a request had to be cut' : 'exits 0')
      const report = reportOf(run.output())
      t.match(report, {
        exitCode: stuck ? 1 : 0,
        forced: false,
        requests: { inFlightAtSignal: stuck ? 2 : 1, completedAfterSignal: 1 },
        sockets: { destroyed: stuck ? 1 : 0 }
      })
      t.same(report.hooks.map((h: { name: string, outcome: string }) => `${h.name}:${h.outcome}`), ['cleanup-hook:ok', 'persist-hook:ok'], 'the hooks ran')
      t.match(run.output(), /"fixture":"hook","name":"cleanup-hook"[\s\S]*"fixture":"hook","name":"persist-hook"/)
    })
  }
}
