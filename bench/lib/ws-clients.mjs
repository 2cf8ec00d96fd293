// WebSocket clients that reconnect: `node ws-clients.mjs <port> <count> <reconnectDelayMs> [reconnectPort]` opens
// `count` clients to ws://127.0.0.1:<port>/ (50 handshakes at a time) and prints
// BENCH {"type":"connected"} once all are open. From then on every client that closes, or whose
// attempt fails, tries again after reconnectDelayMs (fixed, no jitter: the worst case for a storm),
// at most 200 attempts per client. stdin commands: `progress` → how many are open; `reset` → forget
// the event-loop delay, stalls and CPU time so far; `stats` → every reconnect attempt's time and outcome, when
// each close arrived, and this process's event-loop delay, stalls (bench/lib/loop-stalls.mjs) and CPU
// time since the reset (a process whose loop turns late receives the closes in bursts); `stop` →
// terminate all and exit.
// Times are absolute (performance.timeOrigin + performance.now()) so the runner can compare them.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import WebSocket from 'ws'
import { watchStalls } from './loop-stalls.mjs'

const [port, count, reconnectDelayMs, reconnectPort] = process.argv.slice(2).map(Number)
const MAX_ATTEMPTS = 200
const now = () => performance.timeOrigin + performance.now()
const out = (msg) => process.stdout.write('BENCH ' + JSON.stringify(msg) + '\n')

let reconnecting = false // false while the first connections are made
let stopping = false
let open = 0
const attempts = [] // reconnect attempts: { at, ok, reason }
const closeCodes = {} // close code of an open connection → count
const closedAt = [] // when each open connection was closed (absolute ms)
const clients = []
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()
const stalls = watchStalls()
let reset = { at: performance.now(), cpu: process.cpuUsage() }

function connect (client) {
  if (stopping || client.attempts >= MAX_ATTEMPTS) return Promise.resolve()
  client.attempts++
  const attempt = { at: now(), ok: false, reason: null }
  if (reconnecting) attempts.push(attempt)
  // With a reconnect port, the reconnects go straight to that instance (no LB in between).
  const target = reconnecting && reconnectPort ? reconnectPort : port
  const ws = new WebSocket(`ws://127.0.0.1:${target}/`, { handshakeTimeout: 5000, perMessageDeflate: false })
  client.ws = ws
  let opened = false
  return new Promise((resolve) => {
    ws.on('open', () => {
      opened = true
      attempt.ok = true
      open++
      resolve()
    })
    ws.on('message', (data) => { client.pod = JSON.parse(data).pod })
    ws.on('error', (err) => { if (!opened) attempt.reason = err.message.replace(/^Unexpected server response: /, 'status ') })
    ws.on('close', (code) => {
      if (opened) {
        open--
        client.closes++
        closeCodes[code] = (closeCodes[code] ?? 0) + 1
        closedAt.push(now())
      } else attempt.reason ??= `closed before open (${code})`
      if (!stopping) setTimeout(() => connect(client), reconnectDelayMs)
      resolve()
    })
  })
}

async function connectAll () {
  const started = now()
  for (let i = 0; i < count; i++) clients.push({ attempts: 0, closes: 0, ws: null, pod: null })
  let next = 0
  const worker = async () => { while (next < count) await connect(clients[next++]) }
  await Promise.all(Array.from({ length: 50 }, worker))
  reconnecting = true
  out({ type: 'connected', open, ms: Math.round(now() - started) })
}

process.stdin.on('data', (buf) => {
  for (const cmd of buf.toString().split('\n')) {
    if (cmd === 'reset') { loopDelay.reset(); stalls.reset(); reset = { at: performance.now(), cpu: process.cpuUsage() } }
    if (cmd === 'progress') out({ type: 'progress', open, closes: clients.reduce((n, c) => n + c.closes, 0), at: now() })
    if (cmd === 'stats') {
      const pods = {}
      for (const c of clients) if (c.ws?.readyState === WebSocket.OPEN) pods[c.pod] = (pods[c.pod] ?? 0) + 1
      const cpu = process.cpuUsage(reset.cpu)
      out({ type: 'stats', open, closeCodes, closedAt, attempts, pods, closesPerClient: clients.map((c) => c.closes),
        loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - reset.at, stalls: stalls.summary() })
    }
    if (cmd === 'stop') {
      stopping = true
      for (const c of clients) c.ws?.terminate()
      setTimeout(() => process.exit(0), 200)
    }
  }
})
process.stdin.on('end', () => process.exit(0))
setTimeout(() => process.exit(97), 300_000).unref()

connectAll()
