// Child-process bookkeeping for the benchmarks: every process started here is registered, its
// stdout is read line by line ("BENCH {json}" lines are messages), and all of them are killed
// when the run ends, fails or is interrupted.
import { execFileSync, spawn } from 'node:child_process'
import net from 'node:net'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { runtimeCommand } from '../../scripts/runtimes.mjs'

const live = new Set()

export function killAll (signal = 'SIGKILL') {
  for (const child of live) {
    try { child.kill(signal) } catch {}
  }
}

let hooked = false
function hookExit () {
  if (hooked) return
  hooked = true
  process.on('exit', () => killAll())
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      killAll()
      process.exit(130)
    })
  }
  process.on('uncaughtException', (err) => {
    console.error(err)
    killAll()
    process.exit(1)
  })
}

function runtimeProgram (runtime, path, nodeArgs) {
  // Node's flags go before the script on every Node; Bun and Deno take other flags.
  if (nodeArgs.length > 0 && !runtime.startsWith('node')) throw new Error(`node arguments (${nodeArgs.join(' ')}) cannot be passed to runtime ${runtime}`)
  const { command, args } = runtimeCommand(runtime, path)
  return [command, ...nodeArgs, ...args]
}

/**
 * Start `node <script> ...args`. Returns a handle with:
 * - `next(type, timeoutMs)`: the next BENCH message of that type (rejects on timeout or exit)
 * - `send(line)`: a command line on the child's stdin
 * - `exited`: promise of { code, signal, at } (at = performance.now() at exit)
 * - `lines`: the last non-BENCH output lines, for error messages
 * - `messages`: BENCH messages nobody waited for, each with `receivedAt` (performance.now() when read)
 */
export function startNode (script, args = [], { nodeArgs = [], env = {}, ulimit = 0, cpu, runtime, wrapper = [] } = {}) {
  hookExit()
  const path = script instanceof URL ? fileURLToPath(script) : script
  // `runtime` (scripts/runtimes.mjs, installed beforehand): the script runs there instead of this Node.
  const program = runtime === undefined ? [process.execPath, ...nodeArgs, path] : runtimeProgram(runtime, path, nodeArgs)
  // Pinned to one CPU (see pinnable()): `taskset -c N node ...`; `wrapper`: a command node runs
  // under (valgrind ...), its process id then being node's.
  const command = [...(cpu === undefined ? [] : ['taskset', '-c', String(cpu)]), ...wrapper, ...program, ...args.map(String)]
  const options = { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } }
  // A raised (soft) descriptor limit needs a shell: `ulimit -n N && exec node ...`.
  const child = ulimit
    ? spawn('/bin/sh', ['-c', `ulimit -n ${ulimit} && exec "$0" "$@"`, ...command], options)
    : spawn(command[0], command.slice(1), options)
  live.add(child)
  const messages = []
  const waiters = []
  const lines = []
  let exitInfo = null
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal, at: performance.now() }
      live.delete(child)
      for (const w of waiters.splice(0)) w.reject(new Error(`${path} exited (code ${code}, signal ${signal}) while waiting for '${w.type}'\n${lines.slice(-15).join('\n')}`))
      resolve(exitInfo)
    })
  })
  child.stdin.on('error', () => {})
  const onLine = (line) => {
    if (line.startsWith('BENCH ')) {
      let msg
      try { msg = JSON.parse(line.slice(6)) } catch { return }
      // When the runner read it (performance clock): a pipe is fast enough to time events in 100 ms buckets.
      msg.receivedAt = performance.now()
      const i = waiters.findIndex((w) => w.type === msg.type)
      if (i >= 0) waiters.splice(i, 1)[0].resolve(msg)
      else messages.push(msg)
    } else {
      lines.push(line)
      if (lines.length > 200) lines.shift()
    }
  }
  createInterface({ input: child.stdout }).on('line', onLine)
  createInterface({ input: child.stderr }).on('line', (l) => onLine(l))
  return {
    child,
    pid: child.pid,
    lines,
    exited,
    get exit () { return exitInfo },
    messages,
    send (line) { if (!exitInfo) child.stdin.write(line + '\n') },
    next (type, timeoutMs = 30_000) {
      const i = messages.findIndex((m) => m.type === type)
      if (i >= 0) return Promise.resolve(messages.splice(i, 1)[0])
      if (exitInfo) return Promise.reject(new Error(`${path} already exited while waiting for '${type}'\n${lines.slice(-15).join('\n')}`))
      return new Promise((resolve, reject) => {
        const w = { type, resolve, reject }
        const timer = setTimeout(() => {
          const j = waiters.indexOf(w)
          if (j >= 0) waiters.splice(j, 1)
          reject(new Error(`timeout (${timeoutMs} ms) waiting for '${type}' from ${path}\n${lines.slice(-15).join('\n')}`))
        }, timeoutMs)
        w.resolve = (m) => { clearTimeout(timer); resolve(m) }
        w.reject = (e) => { clearTimeout(timer); reject(e) }
        waiters.push(w)
      })
    },
    kill (signal = 'SIGKILL') { if (!exitInfo) { try { child.kill(signal) } catch {} } },
    /** Kill (SIGKILL) unless it exits on its own within ms. */
    async stop (ms = 5000, signal = 'SIGTERM') {
      if (exitInfo) return exitInfo
      this.kill(signal)
      const t = setTimeout(() => this.kill('SIGKILL'), ms)
      const info = await exited
      clearTimeout(t)
      return info
    }
  }
}

export async function withTimeout (promise, ms, what) {
  let t
  const timeout = new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms) })
  try { return await Promise.race([promise, timeout]) } finally { clearTimeout(t) }
}

/** SIGTERM, as a platform stopping the process does, then SIGKILL once `killAfterMs` passed (its hard deadline); resolves with the exit. */
export async function terminate (child, killAfterMs) {
  child.kill('SIGTERM')
  const killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
  try {
    return await child.exited
  } finally {
    clearTimeout(killTimer)
  }
}

/** An ephemeral port on 127.0.0.1 that was free a moment ago (for a child or a proxy that must be told its port). */
export async function freePort () {
  const probe = net.createServer()
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address()
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** True when processes can be pinned to CPUs 0 and 1 (`taskset` from util-linux, two CPUs or more). */
export function pinnable () {
  try {
    execFileSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export { once }
