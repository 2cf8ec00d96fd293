// Instructions per request: a hot-path server (hot-path-server.mjs) runs under valgrind's callgrind
// with instrumentation off; it is warmed up with keep-alive GETs, then instrumentation is switched
// on (`callgrind_control -i on`) for exactly `requests` GETs over `connections` keep-alive
// connections, switched off and dumped. callgrind counts the instructions the process executes,
// so other processes on the machine cannot change the figure; what can is the server's own
// nondeterminism (when V8 compiles, when it collects garbage), which the node flags below pin.
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startNode } from './children.mjs'

const run = promisify(execFile)

/**
 * The node flags of the measured server. One thread (V8 compiles and collects on the main thread,
 * at the same point of the same work every run), a young generation fixed at 64 MiB (no resizing
 * that depends on timing), an old-generation collection done at once rather than in steps spread
 * over the requests (all of it inside Heap::CollectGarbage, where instructionsIn() can set it
 * apart), fixed random and hash seeds (the same hash-table layouts every run).
 */
export const NODE_FLAGS = [
  '--single-threaded',
  '--max-semi-space-size=64',
  '--min-semi-space-size=64',
  '--no-incremental-marking',
  '--random-seed=1',
  '--hash-seed=1'
]

/** Why the section cannot run here (valgrind or callgrind_control missing), or null. */
export function callgrindMissing () {
  for (const tool of ['valgrind', 'callgrind_control']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' })
    } catch {
      return `${tool} not found (apt-get install valgrind)`
    }
  }
  return null
}

/**
 * `connections` keep-alive sockets to the server; `gets(total)` sends exactly `total` GETs over them
 * (each socket sends its next request when the previous response is complete) and resolves with the
 * number of responses that were not 2xx. The sockets stay open between calls and until `close()`,
 * so a measured window holds requests only, not connection setup or teardown.
 */
export async function keepAlivePool ({ port, path, connections }) {
  const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`)
  const sockets = await Promise.all(Array.from({ length: connections }, () => new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(socket))
    socket.once('error', reject)
    socket.setEncoding('latin1')
  })))
  const send = (socket, count) => new Promise((resolve, reject) => {
    if (count === 0) return resolve(0)
    let buf = ''
    let bad = 0
    const onData = (chunk) => {
      buf += chunk
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const length = Number(/content-length:\s*(\d+)/i.exec(buf.slice(0, end))?.[1])
        if (!Number.isFinite(length)) return finish(new Error(`response without content-length: ${buf.slice(0, 80)}`))
        if (buf.length < end + 4 + length) return
        if (!buf.startsWith('HTTP/1.1 2')) bad++
        buf = buf.slice(end + 4 + length)
        if (--count === 0) return finish(null)
        socket.write(request)
      }
    }
    const onClose = () => finish(new Error('the server closed a keep-alive connection'))
    const finish = (err) => {
      socket.off('data', onData).off('error', finish).off('close', onClose)
      if (err) reject(err)
      else resolve(bad)
    }
    socket.on('data', onData).on('error', finish).on('close', onClose)
    socket.write(request)
  })
  return {
    async gets (total) {
      const counts = sockets.map((_, i) => Math.floor(total / connections) + (i < total % connections ? 1 : 0))
      const bad = await Promise.all(sockets.map((socket, i) => send(socket, counts[i])))
      return bad.reduce((a, b) => a + b, 0)
    },
    close () { for (const socket of sockets) socket.destroy() }
  }
}

/**
 * The instructions in callgrind's dump files in `dir`: `total` (the sum of `totals:`), and two
 * one-off parts of it (inclusive costs, from callgrind_annotate): `gc`, V8's Heap::CollectGarbage,
 * and `compile`, V8's optimizing and baseline compilers. A young-generation collection costs ~15 M
 * instructions and comes every ~15,000 requests with a 64 MiB semi-space; a TurboFan compilation of
 * a hot function costs up to ~100 M. Whether one falls into a window of a few thousand requests or
 * just before it is a matter of timing, so the per-request figure is the rest (`total - gc -
 * compile`): the code that runs. The garbage's cost follows the bytes allocated per request (the
 * overhead section), and slower code while a function waits for its compilation still counts.
 */
export async function instructionsIn (dir) {
  const parts = { gc: /v8::internal::Heap::CollectGarbage\(/, compile: /v8::internal::Compiler::Compile(Optimized|OptimizedOSR|Baseline)\(/ }
  const found = { total: 0, gc: 0, compile: 0 }
  for (const file of readdirSync(dir)) {
    const path = join(dir, file)
    const m = /^totals: (\d+)/m.exec(readFileSync(path, 'utf8'))
    if (!m) continue
    found.total += Number(m[1])
    const { stdout } = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=100', path], { maxBuffer: 256 * 2 ** 20 })
    for (const line of stdout.split('\n')) {
      const cost = /^\s*([\d,]+) \(/.exec(line)
      if (!cost) continue
      for (const [part, name] of Object.entries(parts)) if (name.test(line)) found[part] += Number(cost[1].replaceAll(',', ''))
    }
  }
  return found
}

/**
 * One measured run: a fresh server for `door`/`side`, `warmup` GETs, then `requests` GETs counted.
 * Returns { total, gc, compile, perRequest } (instructions; perRequest leaves out GC and compilation) and dumpDir (removed unless `keep`).
 */
export async function measureInstructions ({ script = new URL('./hot-path-server.mjs', import.meta.url), door, side, warmup, requests, connections = 4, path = '/fast', keep = false, extraNodeFlags = [] }) {
  const dumpDir = mkdtempSync(join(tmpdir(), 'graceful-callgrind-'))
  const child = startNode(script, [door, side], {
    wrapper: ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${join(dumpDir, 'callgrind.out.%p')}`],
    nodeArgs: [...NODE_FLAGS, ...extraNodeFlags],
    env: { HOT_PATH_KEEP_ALIVE_MS: '600000' }
  })
  let pool = null
  try {
    const { port } = await child.next('listening', 300_000)
    pool = await keepAlivePool({ port, path, connections })
    const badWarm = await pool.gets(warmup)
    const control = (...args) => run('callgrind_control', [...args, String(child.pid)], { timeout: 120_000 })
    await control('-i', 'on')
    const bad = await pool.gets(requests)
    await control('-i', 'off')
    await control('-d')
    if (bad || badWarm) throw new Error(`${door} ${side}: ${bad + badWarm} responses not 2xx`)
    const { total, gc, compile } = await instructionsIn(dumpDir)
    if (!total) throw new Error(`${door} ${side}: callgrind dumped no instructions (${readdirSync(dumpDir).join(', ') || 'no files'})`)
    return { total, gc, compile, perRequest: (total - gc - compile) / requests, dumpDir }
  } finally {
    pool?.close()
    child.kill('SIGKILL')
    await child.exited
    if (!keep) rmSync(dumpDir, { recursive: true, force: true })
  }
}
