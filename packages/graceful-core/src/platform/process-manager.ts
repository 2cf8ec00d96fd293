/**
 * What graceful does for a process manager: PM2 (fork or cluster mode) and node:cluster primaries,
 * clusterPrimary() included. Both talk to the process over its IPC channel.
 *
 * - `process.send('ready')` once the coordinator is running (every added server listens and every
 *   startup task resolved): PM2's `wait_ready: true` and clusterPrimary() wait for it before they
 *   stop the instance this one replaces.
 * - The message `'shutdown'` (PM2's `shutdown_with_message`, clusterPrimary()) starts the shutdown
 *   like a signal; a cluster worker that the primary disconnects starts it too.
 *
 * PM2's `kill_timeout` is one of the kill deadlines the budget warns of (see budget.ts).
 * @module
 */
import cluster from 'node:cluster'
import type { State } from '../types.js'
import { detectHost } from './host.js'

/** The IPC message that starts a shutdown (PM2's `shutdown_with_message`). */
export const SHUTDOWN_MESSAGE = 'shutdown'
/** The IPC message sent once the instance can serve (PM2's `wait_ready`). */
export const READY_MESSAGE = 'ready'

interface Coordinator {
  on: (event: 'state', listener: (state: State) => void) => unknown
  off: (event: 'state', listener: (state: State) => void) => unknown
}

/**
 * Connects a coordinator to the process manager it runs under, if any; `startRun(reason)` starts a
 * shutdown as a signal does (the process exits at its end). Everything it installs is removed once
 * the coordinator stopped, so an idle IPC channel never keeps the process alive.
 */
export function attachProcessManager (graceful: Coordinator, startRun: (reason: string) => void, env: NodeJS.ProcessEnv = process.env): void {
  const host = detectHost(env)
  if ((host.manager === undefined && !host.clusterWorker) || typeof process.send !== 'function') return

  const onMessage = (message: unknown): void => {
    if (message === SHUTDOWN_MESSAGE) startRun(SHUTDOWN_MESSAGE)
  }
  // The primary closed our IPC channel: worker.disconnect() (it closed our listeners already) or
  // the primary is gone (then Node exits right after this event; nothing can be drained).
  const onDisconnect = (): void => { startRun('primary-disconnect') }
  const worker = cluster.isWorker ? cluster.worker : undefined
  const onState = (state: State): void => {
    if (state === 'running' && process.connected) process.send?.(READY_MESSAGE)
    if (state !== 'stopped') return
    process.off('message', onMessage)
    worker?.off('disconnect', onDisconnect)
    graceful.off('state', onState)
  }
  process.on('message', onMessage)
  worker?.on('disconnect', onDisconnect)
  graceful.on('state', onState)
}
