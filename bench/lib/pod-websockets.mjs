// The WebSocket side of the ws-* pods (bench/lib/pod.mjs): a `ws` server on the pod's HTTP server
// that sends each client {"pod":<pid>} once it is open, and what it saw, in absolute ms
// (performance.timeOrigin + performance.now(), comparable across processes):
// - when each WebSocket was accepted, and the event-loop delay: what a reconnect storm costs the pod that takes it;
// - when each close was sent (ws.close() on an open socket, whoever called it) and when each
//   server-side 'close' came (the handshake over): when the pod shutting down did what, and
// - its event-loop stalls with the CPU time used meanwhile (bench/lib/loop-stalls.mjs): a loop late
//   for want of a CPU, or busy with its own work.
// Commands (pod.mjs's stdin): `ws-reset` forgets all that; `ws-stats` prints the connection times,
// the delays, stalls and CPU time. On exit, a pod that closed WebSockets prints `ws-closes`: a pod shutting down has
// no later moment to answer a command (stdout on a pipe is written synchronously at exit).
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { watchStalls } from './loop-stalls.mjs'

const now = () => performance.timeOrigin + performance.now()
const connectedAt = []
const closeSentAt = []
const closedAt = []
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
let stalls = null
let since = { at: performance.now(), cpu: process.cpuUsage() }

/** Handles the ws-* stdin commands; false for any other. */
export function webSocketCommand (cmd, out) {
  if (cmd === 'ws-reset') {
    connectedAt.length = 0
    closeSentAt.length = 0
    closedAt.length = 0
    loopDelay.reset()
    stalls?.reset()
    since = { at: performance.now(), cpu: process.cpuUsage() }
  } else if (cmd === 'ws-stats') {
    const cpu = process.cpuUsage(since.cpu)
    out({ type: 'ws-stats', connectedAt, loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6,
      cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - since.at, stalls: stalls?.summary() })
  } else return false
  return true
}

export async function webSocketServer (server, out) {
  const { WebSocketServer } = await import('ws')
  const wss = new WebSocketServer({ server })
  loopDelay.enable()
  stalls = watchStalls()
  process.on('exit', () => {
    if (closeSentAt.length === 0 && closedAt.length === 0) return
    const cpu = process.cpuUsage(since.cpu)
    out({
      type: 'ws-closes',
      sentAt: closeSentAt,
      closedAt,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: performance.now() - since.at,
      stalls: stalls.summary()
    })
  })
  wss.on('connection', (ws) => {
    connectedAt.push(now())
    // Wrapped on the instance: ws writes the close frame as close() runs, so this is when it left;
    // a second call on a closing socket sends nothing.
    const close = ws.close
    ws.close = function (...args) {
      if (ws.readyState === ws.OPEN) closeSentAt.push(now())
      return Reflect.apply(close, this, args)
    }
    ws.on('close', () => closedAt.push(now()))
    ws.on('error', () => {})
    ws.send(JSON.stringify({ pod: process.pid }))
  })
  return wss
}
