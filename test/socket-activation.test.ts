/**
 * systemd socket activation, with bench/lib/socket-supervisor.mjs standing in for systemd: it holds
 * the listening socket and passes it as fd 3 (LISTEN_FDS=1, LISTEN_PID) to each instance of the
 * server from docs/single-host.md, restarting stop-then-start like `systemctl restart`. Clients must
 * see nothing of the restarts: no refused connect, no reset, no closed keep-alive socket.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { Pool } from 'undici'
import { startSocketSupervisor } from '../bench/lib/socket-supervisor.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const docs = readFileSync(join(here, '..', 'docs', 'single-host.md'), 'utf8')
const section = docs.slice(docs.indexOf('## systemd socket activation'))
const blocks = (lang: string): string[] => [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] ?? '')

interface Supervisor {
  port: number
  pid: number | undefined
  start: () => Promise<number>
  stop: (signal?: string, killAfterMs?: number) => Promise<{ code: number | null }>
  restart: () => Promise<{ exit: { code: number | null }, pid: number }>
  close: () => Promise<void>
  kill: () => void
}

/** The docs' server, written inside test/ so that graceful-core resolves; run under the supervisor. */
async function supervise (t: Test): Promise<{ supervisor: Supervisor, lines: string[] }> {
  const dir = mkdtempSync(join(here, '.tmp-socket-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const app = join(dir, 'server.mjs')
  writeFileSync(app, blocks('js')[0] ?? '')
  const lines: string[] = []
  const supervisor = await startSocketSupervisor({ app, isReady: (line: string) => line.includes('"msg":"ready"'), onLine: (line: string) => lines.push(line) }) as Supervisor
  t.teardown(() => supervisor.kill())
  await supervisor.start()
  return { supervisor, lines }
}

interface Tally { ok: number, failed: string[] }

/** Keep-alive loops and new-connection loops until stopped; every failure is kept by its error code. */
function load (port: number): { tally: Tally, stop: () => Promise<void> } {
  const tally: Tally = { ok: 0, failed: [] }
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 6, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 })
  let stopped = false
  const record = (status: number | undefined, error?: { code?: string }): void => {
    if (status === 200) tally.ok++
    else tally.failed.push(error ? String(error.code ?? error) : `status ${status}`)
  }
  const keepAlive = async (): Promise<void> => {
    for (let i = 0; i < 100_000 && !stopped; i++) {
      try {
        const res = await pool.request({ method: 'GET', path: '/', headersTimeout: 20_000 })
        await res.body.dump()
        record(res.statusCode)
      } catch (error) { record(undefined, error as { code?: string }) }
    }
  }
  const fresh = async (): Promise<void> => {
    for (let i = 0; i < 100_000 && !stopped; i++) {
      await new Promise<void>((resolve) => {
        http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 20_000 }, (res) => {
          res.resume()
          res.on('end', () => { record(res.statusCode); resolve() })
        }).on('error', (error) => { record(undefined, error as { code?: string }); resolve() })
      })
    }
  }
  const loops = [...Array.from({ length: 6 }, keepAlive), ...Array.from({ length: 2 }, fresh)]
  return {
    tally,
    async stop () {
      stopped = true
      await Promise.all(loops)
      await pool.destroy()
    }
  }
}

t.test('restarts on the inherited socket under load: nothing refused, reset or closed under a request (3 restarts)', async (t) => {
  const { supervisor, lines } = await supervise(t)
  const { tally, stop } = load(supervisor.port)
  const pids = [supervisor.pid]
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    const { exit, pid } = await supervisor.restart()
    t.equal(exit.code, 0, `instance ${i + 1} drained and exited 0`)
    pids.push(pid)
  }
  await new Promise((resolve) => setTimeout(resolve, 500))
  await stop()
  t.equal(new Set(pids).size, 4, 'four instances served in turn')
  t.same(tally.failed, [], `no failed request among ${tally.ok}`)
  const reports = lines.filter((l) => l.includes('"report"')).map((l) => JSON.parse(l).report)
  t.equal(reports.length, 3)
  t.ok(reports.every((r) => r.phases.preStop.durationMs >= 500), 'socket activation keeps the short default pre-stop (500 ms)')
  await supervisor.close()
})

t.test('connections made while no instance runs wait in the queue for the next one (the drain left the backlog alone)', async (t) => {
  const { supervisor } = await supervise(t)
  // Under load while it drains: the old instance would have shrunk the queue then, if at all.
  const { stop } = load(supervisor.port)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const stopping = supervisor.stop()
  await new Promise((resolve) => setTimeout(resolve, 100))
  await stop()
  t.equal((await stopping).code, 0)
  // Nobody accepts now; with the backlog at 0 the kernel would complete one handshake and drop the rest.
  const sockets = await Promise.all(Array.from({ length: 16 }, () => new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(supervisor.port, '127.0.0.1')
    t.teardown(() => { socket.destroy() })
    const timer = setTimeout(() => reject(new Error('a connect did not complete while no instance ran: the queue is too short')), 5_000)
    socket.once('connect', () => { clearTimeout(timer); socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'); resolve(socket) })
    socket.once('error', reject)
  })))
  t.equal(sockets.length, 16, 'all 16 handshakes completed with no instance running')
  await supervisor.start()
  const answers = await Promise.all(sockets.map((socket) => new Promise<string>((resolve) => {
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => { text += chunk })
    socket.on('close', () => resolve(text.split('\r\n')[0] ?? ''))
  })))
  t.same(new Set(answers), new Set(['HTTP/1.1 200 OK']), 'the next instance answered every one')
  await supervisor.close()
})

t.test('the documented units: one socket passed to node, SIGTERM, a stop timeout that outlasts gracePeriodMs', async (t) => {
  const [socketUnit, serviceUnit] = blocks('ini')
  const server = blocks('js')[0] ?? ''
  const keys = (unit = ''): Map<string, string> => new Map(unit.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
  const socket = keys(socketUnit)
  const service = keys(serviceUnit)
  t.match(socket.get('ListenStream'), /^[\d.]+:\d+$/, 'a TCP socket')
  t.equal(socket.get('Accept') ?? 'no', 'no', 'one socket for the service (Accept=no)')
  const socketName = /# \/etc\/systemd\/system\/(\S+\.socket)/.exec(socketUnit ?? '')?.[1]
  t.equal(service.get('Requires'), socketName)
  t.equal(service.get('After'), socketName)
  t.match(service.get('ExecStart'), /^\/\S*\/node \S+\.mjs$/, 'node directly, no shell or npm in between')
  t.equal(service.get('KillSignal') ?? 'SIGTERM', 'SIGTERM')
  const gracePeriodMs = Number(/gracePeriodMs: (\d+)/.exec(server)?.[1])
  t.ok(Number(service.get('TimeoutStopSec')) * 1000 >= gracePeriodMs + 2000, 'systemd SIGKILLs only after gracePeriodMs + 2 s')
  t.match(server, /listen\(process\.env\.LISTEN_FDS \? \{ fd: 3 \}/, 'the server listens on fd 3 when systemd passed it')
})
