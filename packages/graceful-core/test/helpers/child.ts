/**
 * Spawns fixture programs (test/fixtures/*.mjs, which import the build output) and reads their
 * JSON-line output. Every child is killed in the test's teardown, even when the test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url))

interface Teardownable {
  teardown: (fn: () => void | Promise<void>) => void
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export type Line = Record<string, unknown>

export interface Fixture {
  child: ChildProcess
  /** Every stdout line parsed as JSON (non-JSON lines become `{ text }`). */
  lines: () => Line[]
  stdout: () => string
  stderr: () => string
  /** Resolves with the first line matching, or rejects after `timeoutMs` or when the child exits first. */
  waitForLine: (match: (line: Line) => boolean, timeoutMs?: number) => Promise<Line>
  exited: Promise<Exit>
  kill: (signal: NodeJS.Signals) => void
}

/** How a fixture is started: by default with stdin ignored and stdout, stderr piped (see ipc-child.ts for another). */
export type Spawner = (name: string, env: NodeJS.ProcessEnv, args: string[]) => ChildProcess

const plainSpawn: Spawner = (name, env, args) => spawn(process.execPath, [fixturesDir + name, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })

export function spawnFixture (t: Teardownable, name: string, args: string[] = [], env: Record<string, string> = {}, start: Spawner = plainSpawn): Fixture {
  const child = start(name, { ...process.env, KUBERNETES_SERVICE_HOST: '', TERMINATION_GRACE_PERIOD_SECONDS: '', ...env }, args)
  let out = ''
  let err = ''
  const parsed: Line[] = []
  let partial = ''
  const waiters = new Set<() => void>()
  child.stdout!.setEncoding('utf8')
  child.stderr!.setEncoding('utf8')
  child.stdout!.on('data', (chunk: string) => {
    out += chunk
    partial += chunk
    let nl: number
    while ((nl = partial.indexOf('\n')) !== -1) {
      const text = partial.slice(0, nl)
      partial = partial.slice(nl + 1)
      if (text === '') continue
      try {
        parsed.push(JSON.parse(text) as Line)
      } catch {
        parsed.push({ text })
      }
    }
    for (const wake of [...waiters]) wake()
  })
  child.stderr!.on('data', (chunk: string) => { err += chunk })
  const exited = new Promise<Exit>((resolve) => {
    // 'close', not 'exit': by then stdout and stderr have been read to their end.
    child.once('close', (code, signal) => {
      resolve({ code, signal })
    })
  })
  let done = false
  void exited.then(() => {
    done = true
    for (const wake of [...waiters]) wake()
  })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const waitForLine = async (match: (line: Line) => boolean, timeoutMs = 20_000): Promise<Line> => {
    return await new Promise<Line>((resolve, reject) => {
      const check = (): void => {
        const found = parsed.find(match)
        if (found !== undefined) return finish(() => resolve(found))
        if (done) {
          finish(() => reject(new Error(`fixture ${name} exited before the expected line; stdout:\n${out}\nstderr:\n${err}`)))
        }
      }
      const timer = setTimeout(() => finish(() => reject(new Error(`fixture ${name}: no expected line within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`))), timeoutMs)
      const finish = (fn: () => void): void => {
        clearTimeout(timer)
        waiters.delete(check)
        fn()
      }
      waiters.add(check)
      check()
    })
  }
  return {
    child,
    lines: () => parsed,
    stdout: () => out,
    stderr: () => err,
    waitForLine,
    exited,
    kill: (signal) => { child.kill(signal) }
  }
}

/** Waits for the child's exit, failing (rejecting) after `timeoutMs` so a hang is a failure, not a stall. */
export async function exitWithin (fixture: Fixture, timeoutMs = 20_000): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`child did not exit within ${timeoutMs} ms; stdout:\n${fixture.stdout()}\nstderr:\n${fixture.stderr()}`)), timeoutMs)
  })
  try {
    return await Promise.race([fixture.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The report logged by the default logger (the line with a `report` field). */
export function reportLines (fixture: Fixture): Line[] {
  return fixture.lines().filter((l) => typeof l.report === 'object' && l.report !== null)
}

export const isReady = (line: Line): boolean => line.fixture === 'ready'
