#!/usr/bin/env node
// A stand-in for systemd socket activation: something holds the listening socket for the whole
// life of the service and hands it to each instance as fd 3, with LISTEN_FDS=1 and LISTEN_PID set
// to the instance's pid; a restart stops the old instance, then starts the new one (what
// `systemctl restart` does), and connections that arrive in between wait in the kernel's queue.
//
// Two halves in one file:
// - the holder (this file run as a script): fd 3 is the listening socket, which it never accepts
//   on; it starts the app with that fd, and obeys JSON commands on stdin ({"cmd":"start"},
//   {"cmd":"signal","signal":"SIGTERM"}), reporting JSON lines on stdout ({"type":"started"},
//   {"type":"line"}, {"type":"exit"}). Run it by hand under systemd's own tool for a manual check:
//     systemd-socket-activate -l 127.0.0.1:8080 node bench/lib/socket-supervisor.mjs app.mjs
//   (SIGHUP restarts the app, SIGTERM stops it and the holder).
// - startSocketSupervisor() for tests and the bench: creates the socket, passes it to a holder
//   process and closes its own copy, so only the holder and the instance ever have it.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const SELF = fileURLToPath(import.meta.url)

/**
 * @param {object} o
 * @param {string} o.app            the instance's script (node runs it)
 * @param {string[]} [o.args]
 * @param {Record<string,string>} [o.env]
 * @param {(line: string) => boolean} o.isReady  an output line of the instance that says it serves
 * @param {(line: string, pid: number) => void} [o.onLine]  every output line of every instance
 */
export async function startSocketSupervisor ({ app, args = [], env = {}, isReady, onLine = () => {}, host = '127.0.0.1' }) {
  const server = net.createServer()
  server.listen({ host, port: 0, backlog: 511 })
  await once(server, 'listening')
  const { port } = server.address()
  // No client knows the port yet, so nothing is accepted here before the close below.
  const holder = spawn(process.execPath, [SELF, app, ...args], {
    stdio: ['pipe', 'pipe', 'inherit', server._handle],
    env: { ...process.env, ...env, SOCKET_SUPERVISOR_COMMANDS: '1' }
  })
  server.close()
  const events = []
  const waiters = new Set()
  createInterface({ input: holder.stdout }).on('line', (text) => {
    let event
    try { event = JSON.parse(text) } catch { return }
    if (event.type === 'line') onLine(event.line, event.pid)
    events.push(event)
    for (const w of [...waiters]) w()
  })
  const holderExited = once(holder, 'exit')
  const send = (cmd) => holder.stdin.write(JSON.stringify(cmd) + '\n')
  /** The next event matching `match` from index `from` on. */
  const next = (match, what, timeoutMs = 30_000, from = 0) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`socket supervisor: no ${what} within ${timeoutMs} ms`)) }, timeoutMs)
    const check = () => {
      const found = events.slice(from).find(match)
      if (!found) return
      clearTimeout(timer)
      waiters.delete(check)
      resolve(found)
    }
    waiters.add(check)
    check()
  })
  let current

  return {
    port,
    get pid () { return current },
    /** Starts an instance on the held socket; resolves once it printed a ready line. */
    async start (timeoutMs = 30_000) {
      const from = events.length
      send({ cmd: 'start' })
      const { pid } = await next((e) => e.type === 'started', 'started', timeoutMs, from)
      current = pid
      await next((e) => (e.type === 'line' && e.pid === pid && isReady(e.line)) || (e.type === 'exit' && e.pid === pid), 'ready line', timeoutMs, from)
        .then((e) => { if (e.type === 'exit') throw new Error(`instance ${pid} exited before it was ready (code ${e.code})`) })
      return pid
    },
    /** Signals the instance (SIGTERM by default), SIGKILL after `killAfterMs`; resolves with its exit. */
    async stop (signal = 'SIGTERM', killAfterMs = 30_000) {
      const pid = current
      if (pid === undefined) return undefined
      send({ cmd: 'signal', signal })
      const timer = setTimeout(() => send({ cmd: 'signal', signal: 'SIGKILL' }), killAfterMs)
      const exit = await next((e) => e.type === 'exit' && e.pid === pid, 'exit', killAfterMs + 10_000)
      clearTimeout(timer)
      current = undefined
      return exit
    },
    /** `systemctl restart`: stop, then start. */
    async restart () {
      const exit = await this.stop()
      const pid = await this.start()
      return { exit, pid }
    },
    /** Stops the instance and the holder; the socket closes with the holder. */
    async close () {
      if (holder.exitCode === null) {
        holder.stdin.end()
        const timer = setTimeout(() => holder.kill('SIGKILL'), 15_000)
        await holderExited
        clearTimeout(timer)
      }
    },
    /** For a test's teardown: kills everything at once. */
    kill () {
      send({ cmd: 'signal', signal: 'SIGKILL' })
      holder.kill('SIGKILL')
    }
  }
}

/** The holder: fd 3 is the listening socket; it is only ever passed on, never accepted on here. */
function hold (argv) {
  const [app, ...args] = argv
  if (!app) {
    console.error('usage: socket-supervisor.mjs app.mjs [args] (fd 3: a listening socket)')
    process.exit(2)
  }
  const commands = process.env.SOCKET_SUPERVISOR_COMMANDS === '1'
  const report = (event) => { if (commands) process.stdout.write(JSON.stringify(event) + '\n') }
  let child
  let exited = Promise.resolve()
  const start = () => {
    // LISTEN_PID must be the instance's own pid: the shell learns it ($$) and execs node in place.
    child = spawn('/bin/sh', ['-c', 'LISTEN_PID=$$ exec "$0" "$@"', process.execPath, app, ...args], {
      stdio: ['ignore', commands ? 'pipe' : 'inherit', commands ? 'pipe' : 'inherit', 3],
      env: { ...process.env, LISTEN_FDS: '1', LISTEN_FDNAMES: 'http', SOCKET_SUPERVISOR_COMMANDS: '' }
    })
    const pid = child.pid
    report({ type: 'started', pid })
    if (commands) {
      for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (line) => report({ type: 'line', pid, line }))
    }
    exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      report({ type: 'exit', pid, code, signal })
      resolve()
    }))
  }
  const signal = (name) => { if (child && child.exitCode === null && child.signalCode === null) child.kill(name) }
  if (commands) {
    createInterface({ input: process.stdin }).on('line', (text) => {
      const cmd = JSON.parse(text)
      if (cmd.cmd === 'start') start()
      else if (cmd.cmd === 'signal') signal(cmd.signal)
    }).on('close', async () => {
      signal('SIGTERM')
      await exited
      process.exit(0)
    })
  } else {
    // By hand, under systemd-socket-activate: SIGHUP restarts (stop, then start), SIGTERM stops.
    start()
    process.on('SIGHUP', async () => {
      signal('SIGTERM')
      await exited
      start()
    })
    process.on('SIGTERM', async () => {
      signal('SIGTERM')
      await exited
      process.exit(0)
    })
  }
}

if (process.argv[1] === SELF) hold(process.argv.slice(2))
