/**
 * Forks a fixture with an IPC channel, as PM2 and node:cluster do, on top of spawnFixture's line
 * reading; the IPC messages it sends are collected. Killed in the test's teardown like any fixture.
 */
import { spawn } from 'node:child_process'
import { type Fixture, fixturesDir, spawnFixture } from './child.js'

interface Teardownable {
  teardown: (fn: () => void | Promise<void>) => void
}

export interface IpcFixture extends Fixture {
  /** Messages received from the child, in order. */
  messages: unknown[]
  /** Resolves with the first message equal to `value` (rejects after `timeoutMs`). */
  message: (value: unknown, timeoutMs?: number) => Promise<void>
  send: (message: unknown) => void
}

export function forkFixture (t: Teardownable, name: string, env: Record<string, string> = {}): IpcFixture {
  // spawnFixture's reader, on a child spawned with 'ipc' as its fourth stdio.
  const fixture = spawnFixture(t, name, [], env, (file, childEnv) =>
    spawn(process.execPath, [fixturesDir + file], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: childEnv }))
  const messages: unknown[] = []
  const waiters = new Set<() => void>()
  fixture.child.on('message', (message: unknown) => {
    messages.push(message)
    for (const wake of [...waiters]) wake()
  })
  return {
    ...fixture,
    messages,
    send: (message) => { fixture.child.send(message as string) },
    message: (value, timeoutMs = 20_000) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`no ${JSON.stringify(value)} message within ${timeoutMs} ms; stdout:\n${fixture.stdout()}`)) }, timeoutMs)
      const check = (): void => {
        if (!messages.includes(value)) return
        clearTimeout(timer)
        waiters.delete(check)
        resolve()
      }
      waiters.add(check)
      check()
    })
  }
}
