/**
 * Where the process runs, as far as a restart is concerned: under PM2, as a node:cluster worker
 * (PM2's cluster mode is one too), with listening sockets inherited from systemd, or in a
 * Kubernetes pod. Read from the environment once, at creation.
 * @module
 */
import cluster from 'node:cluster'
import { invalid } from '../validate.js'

export interface Host {
  /** `pm2` when PM2 started the process (it sets `pm_id` in every app's environment). */
  readonly manager: 'pm2' | undefined
  /** A node:cluster worker, PM2's cluster mode included (Node removes NODE_UNIQUE_ID from the environment once it set the worker up). */
  readonly clusterWorker: boolean
  /** systemd socket activation passed listening sockets (fd 3 on), `LISTEN_FDS` of them. */
  readonly socketActivated: boolean
}

/**
 * The default pre-stop window of a cluster worker and of a socket-activated service. Neither has a
 * load balancer that lags: the cluster primary stops routing to a worker the moment it stops
 * listening, and a socket-activated service's new connections wait in the kernel's queue for the
 * next instance. The window only moves keep-alive clients off: the next request on each connection
 * open at the signal is answered with `Connection: close`, so a client busy on a reused socket leaves
 * through a response instead of having its socket closed under a request it is sending. The
 * single-host benchmark (BENCHMARKS.md, PM2 reload) measured the shortest window that lost nothing.
 */
export const SHORT_PRE_STOP_MS = 500

export function detectHost (env: NodeJS.ProcessEnv = process.env): Host {
  const listenPid = env.LISTEN_PID
  return {
    manager: env.pm_id !== undefined && env.pm_id !== '' ? 'pm2' : undefined,
    clusterWorker: cluster.isWorker || (env.NODE_UNIQUE_ID !== undefined && env.NODE_UNIQUE_ID !== ''),
    // systemd sets LISTEN_PID to the pid it passes the sockets to; a child of ours does not own them.
    socketActivated: Number(env.LISTEN_FDS) > 0 && (listenPid === undefined || listenPid === '' || Number(listenPid) === process.pid)
  }
}

/** The pre-stop default outside Kubernetes: short for cluster workers and socket activation, else none. */
export function hostPreStopDelayMs (env: NodeJS.ProcessEnv): number {
  const host = detectHost(env)
  return host.clusterWorker || host.socketActivated ? SHORT_PRE_STOP_MS : 0
}

/**
 * Whether the connections accepted during pre-stop stay keep-alive until the drain: not where no
 * load balancer lags (a cluster worker, a socket-activated service). Such an instance is reached
 * until its listener closes, so pre-stop only moves keep-alive clients off: every response in it
 * says `Connection: close`, and the reconnects spread over the window instead of all coming at the
 * drain. Measured with keep-alive from the signal: a cluster reload under keep-alive load lost
 * requests, sent to the old worker as it closed its listener and exited.
 */
export function keepAliveInPreStop (env: NodeJS.ProcessEnv): boolean {
  const host = detectHost(env)
  return !host.clusterWorker && !host.socketActivated
}

/** Under Kubernetes: `KUBERNETES_SERVICE_HOST` is set in every pod; `TERMINATION_GRACE_PERIOD_SECONDS` if the pod spec passes it. */
export function kubernetesOf (env: NodeJS.ProcessEnv): { detected: boolean, terminationGracePeriodMs: number | undefined } {
  const raw = env.TERMINATION_GRACE_PERIOD_SECONDS
  const seconds = raw === undefined || raw === '' ? undefined : Number(raw)
  if (seconds !== undefined && (!Number.isFinite(seconds) || seconds <= 0)) throw invalid('TERMINATION_GRACE_PERIOD_SECONDS', 'a positive number of seconds', raw)
  return { detected: Boolean(env.KUBERNETES_SERVICE_HOST), terminationGracePeriodMs: seconds === undefined ? undefined : seconds * 1000 }
}
