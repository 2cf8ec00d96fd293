/**
 * The listener close under new connections: a connection whose handshake completed is never reset
 * by the close (it waits in the kernel's accept queue until the event loop takes it), new connects
 * after the close are refused, and the report counts what was accepted after the drain began.
 *
 * The kernel side is made deterministic by blocking this process's event loop while a child
 * process connects: handshakes still complete (the kernel does them), nothing is accepted, so the
 * accept queue holds exactly what the child managed to connect.
 */
import t, { type Test } from 'tap'
import http from 'node:http'
import net from 'node:net'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { closeListener } from '../src/drain/listener-close.js'
import { ServerDrainer } from '../src/drain/server-drainer.js'

/** A drainer on its own: no probes, nobody to tell of traffic. */
const NO_WATCHER = { isProbe: () => false, onTraffic: () => {}, onListenerClosedByOther: () => {} }
import { coordinator, listen } from './helpers/raw-http.js'
import { within } from './helpers/inprocess.js'

const CONNECTOR = fileURLToPath(new URL('./fixtures/queued-connects.mjs', import.meta.url))

interface QueuedConnects {
  /** Handshakes that completed while this process accepted nothing. */
  connectedEarly: number
  /** Per connection: the HTTP status it got, or the error code (ECONNREFUSED, ECONNRESET, ...). */
  outcomes: () => Promise<Array<number | string>>
}

/**
 * Starts the connector in the background and blocks this event loop until it reported how many of
 * its `n` connects completed (after `waitMs`); the connector keeps running and reports outcomes later.
 */
function queueConnects (t: Test, port: number, n: number, waitMs = 300): QueuedConnects {
  const dir = mkdtempSync(join(tmpdir(), 'graceful-connects-'))
  const out = join(dir, 'out.jsonl')
  const pid = Number(execFileSync('/bin/sh', ['-c',
    `"$0" "$1" ${port} ${n} ${waitMs} > "$2" 2>&1 < /dev/null & echo $!; ` +
    'i=0; while [ $i -lt 500 ] && ! grep -q connectedEarly "$2" 2>/dev/null; do sleep 0.01; i=$((i+1)); done',
    process.execPath, CONNECTOR, out], { encoding: 'utf8' }).trim())
  t.teardown(() => {
    try { process.kill(pid, 'SIGKILL') } catch {}
    rmSync(dir, { recursive: true, force: true })
  })
  const lines = (): Array<Record<string, unknown>> => readFileSync(out, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
  const early = lines().find((line) => 'connectedEarly' in line)
  if (early === undefined) throw new Error(`the connector did not report: ${readFileSync(out, 'utf8')}`)
  return {
    connectedEarly: early.connectedEarly as number,
    outcomes: async () => {
      for (let i = 0; i < 200; i++) {
        const done = lines().find((line) => 'outcomes' in line)
        if (done !== undefined) return done.outcomes as Array<number | string>
        await sleep(50)
      }
      throw new Error(`the connector did not finish: ${readFileSync(out, 'utf8')}`)
    }
  }
}

function okServer (): http.Server {
  return http.createServer((req, res) => { res.end('ok') })
}

async function connectOutcome (port: number): Promise<string> {
  const socket = net.connect(port, '127.0.0.1')
  try {
    return await new Promise<string>((resolve) => {
      socket.once('error', (error: NodeJS.ErrnoException) => { resolve(error.code ?? error.message) })
      socket.once('connect', () => { resolve('accepted') })
    })
  } finally {
    socket.destroy()
  }
}

async function newConnectsAfterClose (port: number): Promise<string[]> {
  const codes: string[] = []
  for (let i = 0; i < 10; i++) codes.push(await connectOutcome(port))
  return [...new Set(codes)]
}

const onLinux = process.platform === 'linux'

t.test('while the listener closes, the kernel admits at most one new connection (Linux); the queued one is served, the others are refused, none is reset', { skip: !onLinux && 'the backlog-0 close is Linux only' }, async (t) => {
  const server = okServer()
  const port = await listen(t, server)
  const drainer = new ServerDrainer(server, NO_WATCHER)
  t.teardown(() => { drainer.destroyRemaining(); drainer.detach() })
  drainer.announceClose()

  const closing = closeListener(drainer, performance.now() + 5000, new AbortController().signal)
  const connects = queueConnects(t, port, 5)
  t.equal(connects.connectedEarly, 1, 'only one handshake completed while the loop was blocked: the others were held back')
  t.equal(await within(closing, 5000, 'closeListener'), 'backlog-0', 'the backlog-0 path was taken')
  t.equal(server.listening, false, 'the listener is closed')

  const outcomes = await connects.outcomes()
  t.same(outcomes.filter((o) => o !== 'ECONNREFUSED'), [200], 'the connection that was queued got its response')
  t.equal(outcomes.filter((o) => o === 'ECONNREFUSED').length, 4, 'the others retried their handshake and were refused')
  t.equal(drainer.counts.acceptedWhileClosing, 1)
  t.same(await newConnectsAfterClose(port), ['ECONNREFUSED'], 'every new connect is refused')
})

t.test('once the queue has drained, the listener closes as the next connection is accepted (Linux): that connection is served, and a connect made as the server gets it is refused', { skip: !onLinux && 'the backlog-0 close is Linux only' }, async (t) => {
  const server = okServer()
  const port = await listen(t, server)
  const drainer = new ServerDrainer(server, NO_WATCHER)
  t.teardown(() => { drainer.destroyRemaining(); drainer.detach() })
  drainer.announceClose()
  let connectAtAccept: Promise<string> | undefined
  server.once('connection', () => { connectAtAccept = connectOutcome(port) })

  // No quiet period within the test's time: only an accept can close the listener.
  const closing = closeListener(drainer, performance.now() + 60_000, new AbortController().signal, 60_000)
  await sleep(20) // a few loop iterations: the (empty) queue has drained
  const status = new Promise<number | string>((resolve) => {
    http.get({ host: '127.0.0.1', port, agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
      .on('error', (error: NodeJS.ErrnoException) => { resolve(error.code ?? error.message) })
  })
  t.equal(await within(closing, 5000, 'closeListener'), 'backlog-0', 'the accept closed the listener')
  t.equal(await status, 200, 'the connection accepted as the listener closed was served')
  t.equal(await connectAtAccept, 'ECONNREFUSED', 'nothing was admitted after that accept')
  t.equal(drainer.counts.acceptedWhileClosing, 1)
})

t.test('without a usable listening handle the listener closes once no connection came for a while, after serving every queued one', async (t) => {
  const server = okServer()
  const port = await listen(t, server)
  // What the feature detection sees on a cluster worker's stand-in handle: no listen().
  Object.defineProperty((server as unknown as { _handle: object })._handle, 'listen', { value: undefined, configurable: true })
  const drainer = new ServerDrainer(server, NO_WATCHER)
  t.teardown(() => { drainer.destroyRemaining(); drainer.detach() })
  drainer.announceClose()

  const closing = closeListener(drainer, performance.now() + 5000, new AbortController().signal)
  const connects = queueConnects(t, port, 5)
  t.equal(connects.connectedEarly, 5, 'the normal backlog queues every handshake')
  t.equal(await within(closing, 5000, 'closeListener'), 'quiet-wait', 'the fallback was taken')
  t.equal(server.listening, false, 'the listener is closed')
  t.same(await connects.outcomes(), [200, 200, 200, 200, 200], 'every queued connection was served')
  t.equal(drainer.counts.acceptedWhileClosing, 5)
  t.same(await newConnectsAfterClose(port), ['ECONNREFUSED'], 'every new connect is refused')
})

t.test('connections waiting in the accept queue when the drain begins are served, never reset, and the report counts them', async (t) => {
  const server = okServer()
  const graceful = coordinator(t, { preStopDelayMs: 0, gracePeriodMs: 10_000 }).addServer(server)
  const port = await listen(t, server)
  let connects: QueuedConnects | undefined
  // The drain begins: five clients complete their handshakes before this process accepts any.
  graceful.drainSignal.addEventListener('abort', () => { connects = queueConnects(t, port, 5) })

  const report = await within(graceful.shutdown('test'), 8000, 'shutdown')
  t.equal(connects?.connectedEarly, 5, 'five connections were queued when the drain began')
  t.same(await connects?.outcomes(), [200, 200, 200, 200, 200], 'each was accepted and served, none reset')
  t.equal(report.phases.drain.acceptedWhileClosing, 5, 'the report counts them')
  t.equal(report.exitCode, 0)
  t.same(await newConnectsAfterClose(port), ['ECONNREFUSED'], 'after the drain every new connect is refused')
})
