// Load for the rolling update: request loops over keep-alive undici pools, some through the load
// balancer, some straight at the pods' ports, each request to a pod of the LB's rotation (a client
// that balances requests, keeping its pool, and its sockets, to a pod that left the rotation). With
// `pinned`, each direct loop instead keeps one connection to the pod of the rotation it connected to,
// as a client behind a Kubernetes Service (kube-proxy balances connections, not requests), and picks
// again only once that connection closed. Every request is
// counted by outcome; failures are kept with their time for the report, and every request's
// latency goes into a typed-array log (latency.mjs). With `tls` ({ ca }), the direct pools speak
// HTTPS to the pods; `conns` (createConnectionLog) gets each connection they open.
import { Client, Pool } from 'undici'
import { createLatencyLog } from './latency.mjs'
import { socketVerdict } from './socket-reuse.mjs'
import { podConnector, podOrigin } from './tls.mjs'

export const KINDS = ['ok', '5xx', 'reset', 'closed', 'refused', 'timeout', 'other']
export const KIND_LABEL = { ok: 'ok', '5xx': '5xx', reset: 'ECONNRESET', closed: 'other side closed', refused: 'ECONNREFUSED', timeout: 'timeout', other: 'other' }

export function classify (err) {
  const code = err?.code ?? err?.cause?.code
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset'
  if (code === 'UND_ERR_SOCKET') return 'closed'
  if (code === 'ECONNREFUSED') return 'refused'
  if (['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'].includes(code) ||
    err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timeout'
  return 'other'
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const blank = () => Object.fromEntries(KINDS.map((k) => [k, 0]))

/**
 * @param lb        the load balancer (createLB): `pick()` gives the pod a direct client uses
 * @param proxyPort the LB's port
 * @param loops     { proxyFast, proxySlow, directFast, directSlow }
 * @param rate      target requests/s of all fast loops together
 */
export function createLoad ({ lb, proxyPort, loops, rate = 1200, slowMinMs = 1000, slowMaxMs = 2000, timeoutMs = 15_000, maxMs = 300_000, tls = null, conns = null, pinned = false }) {
  const proxyPool = new Pool(`http://127.0.0.1:${proxyPort}`, { connections: 256 })
  const direct = new Map() // pod name → Pool
  const directPool = (pod) => {
    let pool = direct.get(pod.name)
    if (!pool) {
      pool = new Pool(podOrigin(pod.port, tls?.ca), { connections: 64, connect: podConnector({ ca: tls?.ca, conns, pod: pod.name, via: 'direct' }) })
      direct.set(pod.name, pool)
    }
    return pool
  }
  // Pinned: each direct loop's connection ({ pod, client, closed }).
  const pins = new Set()
  const pinOf = (loopState) => {
    if (loopState.pin && !loopState.pin.closed) return loopState.pin
    if (loopState.pin) pins.delete(loopState.pin)
    const pod = lb.pick()
    if (!pod) return null
    const pin = { pod, closed: false, client: new Client(podOrigin(pod.port, tls?.ca), { connect: podConnector({ ca: tls?.ca, conns, pod: pod.name, via: 'direct' }) }) }
    pin.client.on('disconnect', () => { pin.closed = true; pin.client.close().catch(() => {}) })
    pins.add(pin)
    loopState.pin = pin
    return pin
  }
  const totals = blank()
  const byVia = { proxy: blank(), direct: blank() }
  const byPod = {}
  const bySize = { fast: blank(), slow: blank() }
  const upstream = {} // proxied 5xx: cause → count
  const otherCodes = {}
  const failures = [] // { at, kind, via, pod, slow, detail }
  // Every request's start and outcome, for the timeline (bench/lib/series.mjs buckets them).
  const samples = { at: [], kind: [] }
  const latency = createLatencyLog(KINDS)
  let count = 0
  let stopped = false
  const startedAt = performance.now()
  const fastLoops = loops.proxyFast + loops.directFast
  const interval = fastLoops > 0 ? (fastLoops / rate) * 1000 : 0

  function record (kind, via, podName, slow, detail, at) {
    count++
    totals[kind]++
    byVia[via][kind]++
    bySize[slow ? 'slow' : 'fast'][kind]++
    const p = (byPod[podName ?? '?'] ??= blank())
    p[kind]++
    if (kind !== 'ok' && failures.length < 20_000) failures.push({ at, kind, via, pod: podName ?? '?', slow, detail })
    samples.at.push(at)
    samples.kind.push(kind)
    latency.add(at, performance.now() - at, kind, via, slow, podName)
  }

  async function one (via, slow, loopState) {
    const path = slow ? `/slow?ms=${Math.round(slowMinMs + Math.random() * (slowMaxMs - slowMinMs))}` : '/fast'
    let pool = proxyPool
    let podName = null
    if (via === 'direct') {
      const pin = pinned ? pinOf(loopState) : null
      const pod = pinned ? pin?.pod : lb.pick()
      if (!pod) { record('other', via, null, slow, 'no endpoint', performance.now()); return }
      podName = pod.name
      pool = pin?.client ?? directPool(pod)
    }
    const started = performance.now()
    try {
      const res = await pool.request({ method: 'GET', path, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
      await res.body.text()
      podName ??= res.headers['x-bench-pod'] ?? null
      if (res.statusCode >= 200 && res.statusCode < 300) record('ok', via, podName, slow, null, started)
      else if (res.statusCode >= 500) {
        const cause = res.headers['x-bench-upstream-error'] ?? (res.headers['x-bench-lb'] ? 'lb:' + res.headers['x-bench-lb'] : `status ${res.statusCode}`)
        if (via === 'proxy') upstream[cause] = (upstream[cause] ?? 0) + 1
        record('5xx', via, podName, slow, cause, started)
      } else record('other', via, podName, slow, `status ${res.statusCode}`, started)
    } catch (err) {
      const kind = classify(err)
      if (kind === 'other') {
        const c = err?.code ?? err?.name ?? 'error'
        otherCodes[c] = (otherCodes[c] ?? 0) + 1
      }
      const verdict = socketVerdict(err)
      record(kind, via, podName, slow, `${err?.code ?? err?.message}${verdict ? ', ' + verdict : ''}`, started)
    }
  }

  async function loop (via, slow) {
    const loopState = { pin: null }
    await sleep(Math.random() * (slow ? 500 : interval))
    for (let i = 0; i < 10_000_000 && !stopped && performance.now() - startedAt < maxMs; i++) {
      const t = performance.now()
      await one(via, slow, loopState)
      const wait = slow ? 10 + Math.random() * 40 : interval - (performance.now() - t)
      if (wait > 0) await sleep(wait)
    }
  }

  const running = []
  const spawnLoops = (n, via, slow) => { for (let i = 0; i < n; i++) running.push(loop(via, slow)) }
  spawnLoops(loops.proxyFast, 'proxy', false)
  spawnLoops(loops.proxySlow, 'proxy', true)
  spawnLoops(loops.directFast, 'direct', false)
  spawnLoops(loops.directSlow, 'direct', true)

  return {
    get count () { return count },
    /** Connections the direct clients' pool holds to a pod right now. */
    connectedTo (name) { return pinned ? [...pins].filter((pin) => pin.pod.name === name && !pin.closed).length : direct.get(name)?.stats.connected ?? 0 },
    totals,
    async stop () {
      stopped = true
      await Promise.race([Promise.all(running), sleep(timeoutMs + 2000)])
      await Promise.all([proxyPool, ...direct.values(), ...[...pins].map((pin) => pin.client)].map((p) => p.destroy().catch(() => {})))
      return { durationMs: performance.now() - startedAt, count, totals, byVia, byPod, bySize, upstream, otherCodes, failures, samples, latency: latency.snapshot() }
    }
  }
}
