// A small load balancer on 127.0.0.1, in the runner's process. It forwards to the pods in
// rotation (round robin, keep-alive undici pools, no retries), polls each pod's readiness route
// on a fresh connection (like a kubelet probe: a pod is unready after `failureThreshold` failed
// probes in a row, ready again after one success), and applies every readiness change only after
// `lagMs` (the propagation delay of endpoints → kube-proxy / ingress / cloud LB).
// Direct clients (kube-proxy-like) resolve through the same rotation: `pick()`.
// Upgrade requests (WebSockets) go to the next pod in rotation and are then piped both ways; a pod
// that refuses the connection becomes a 502 on the client's socket.
// With `tls` ({ ca }) the LB speaks HTTPS to the pods (pools and probes; upgrades stay plain TCP) and
// clients keep speaking plain HTTP to the LB, as behind an ingress that re-encrypts; `conns`
// (createConnectionLog) gets each connection a pod pool opens.
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { Pool } from 'undici'
import { socketVerdict } from './socket-reuse.mjs'
import { podConnector, podOrigin } from './tls.mjs'

export function createLB ({ lagMs = 1000, probeIntervalMs = 200, probeTimeoutMs = 1000, failureThreshold = 3, readyPath = '/ready', tls = null, conns = null } = {}) {
  const pods = new Map() // name → pod
  let rotation = []
  let rr = 0
  let closed = false
  const events = [] // { t, pod, what }
  const stats = { forwarded: 0, upstreamErrors: {}, noUpstream: 0, upgrades: 0 }
  const tunnels = new Set() // upgraded client sockets, destroyed on close()
  const t0 = performance.now()
  const log = (pod, what, detail) => events.push({ t: Math.round(performance.now() - t0), at: performance.now(), pod, what, detail })

  const rebuild = () => { rotation = [...pods.values()].filter((p) => p.inRotation && !p.removed) }

  function probe (pod) {
    if (closed || pod.removed) return
    const started = performance.now()
    let done = false
    const finish = (ok, detail) => {
      if (done) return
      done = true
      pod.failures = ok ? 0 : pod.failures + 1
      if (!ok && pod.ready && pod.failures < failureThreshold) log(pod.name, 'probe-miss', detail)
      else if (ok !== pod.ready) {
        pod.ready = ok
        log(pod.name, ok ? 'probe-ok' : 'probe-fail', detail)
        clearTimeout(pod.pending)
        // The change reaches the data plane lagMs later, unless it flips back meanwhile.
        pod.pending = setTimeout(() => {
          pod.inRotation = ok
          rebuild()
          log(pod.name, ok ? 'in-rotation' : 'out-of-rotation')
        }, lagMs)
      }
      const wait = Math.max(0, probeIntervalMs - (performance.now() - started))
      pod.probeTimer = setTimeout(() => probe(pod), wait)
    }
    // A kubelet probe over HTTPS does a full handshake each time (no session cache): agent false.
    const req = (tls ? https : http).get({ host: '127.0.0.1', port: pod.port, path: readyPath, agent: false, timeout: probeTimeoutMs, ...(tls ? { ca: tls.ca } : {}) }, (res) => {
      res.resume()
      res.on('end', () => finish(res.statusCode >= 200 && res.statusCode < 400, `status ${res.statusCode}`))
      res.on('error', (err) => finish(false, err.code))
    })
    req.on('timeout', () => { req.destroy(); finish(false, `timeout ${Math.round(performance.now() - started)} ms`) })
    req.on('error', (err) => finish(false, err.code))
  }

  const server = http.createServer((req, res) => {
    const pod = pick()
    if (!pod) {
      stats.noUpstream++
      res.writeHead(503, { 'x-bench-lb': 'no-upstream' })
      res.end()
      return
    }
    stats.forwarded++
    pod.pool.request({ method: req.method, path: req.url, headers: { host: req.headers.host ?? 'bench' }, headersTimeout: 15_000, bodyTimeout: 15_000 })
      .then(async (up) => {
        const text = await up.body.text()
        res.writeHead(up.statusCode, { 'content-type': up.headers['content-type'] ?? 'text/plain', 'x-bench-pod': pod.name })
        res.end(text)
      })
      .catch((err) => {
        const verdict = socketVerdict(err)
        const code = `${err.code ?? err.name}${verdict ? ', ' + verdict : ''}`
        stats.upstreamErrors[code] = (stats.upstreamErrors[code] ?? 0) + 1
        if (!res.headersSent) {
          res.writeHead(502, { 'x-bench-upstream-error': code, 'x-bench-pod': pod.name })
          res.end()
        } else res.destroy()
      })
  })
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {})
    const answer = (status, header) => socket.end(`HTTP/1.1 ${status}\r\n${header}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`)
    const pod = pick()
    if (!pod) { stats.noUpstream++; answer('503 Service Unavailable', 'x-bench-lb: no-upstream'); return }
    stats.upgrades++
    tunnels.add(socket)
    socket.once('close', () => tunnels.delete(socket))
    const upstream = net.connect(pod.port, '127.0.0.1')
    let connected = false
    upstream.on('connect', () => {
      connected = true
      const lines = [`${req.method} ${req.url} HTTP/1.1`]
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
      upstream.write(lines.join('\r\n') + '\r\n\r\n')
      if (head.length) upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    upstream.on('error', (err) => {
      const code = `${err.code ?? err.name} (upgrade)`
      stats.upstreamErrors[code] = (stats.upstreamErrors[code] ?? 0) + 1
      if (connected) socket.destroy()
      else answer('502 Bad Gateway', `x-bench-upstream-error: ${err.code ?? err.name}`)
    })
    socket.on('close', () => upstream.destroy())
  })
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000

  function pick () {
    if (rotation.length === 0) return null
    rr = (rr + 1) % rotation.length
    return rotation[rr]
  }

  return {
    server,
    events,
    stats,
    get rotation () { return rotation.map((p) => p.name) },
    pick,
    async listen () {
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
      return server.address().port
    },
    /** Register a pod; it joins the rotation once its readiness passes (after lagMs). */
    add (name, port) {
      const pod = { name, port, failures: 0, ready: false, inRotation: false, removed: false, pending: null, probeTimer: null,
        pool: new Pool(podOrigin(port, tls?.ca), { connections: 64, connect: podConnector({ ca: tls?.ca, conns, pod: name, via: 'lb' }) }) }
      pods.set(name, pod)
      probe(pod)
      return pod
    },
    /** Drop a pod from the books entirely (after its process exited). */
    async remove (name) {
      const pod = pods.get(name)
      if (!pod) return
      pod.removed = true
      clearTimeout(pod.pending)
      clearTimeout(pod.probeTimer)
      pods.delete(name)
      rebuild()
      await pod.pool.destroy().catch(() => {})
    },
    async waitInRotation (name, ms = 15_000) {
      const end = performance.now() + ms
      while (!rotation.some((p) => p.name === name)) {
        if (performance.now() > end) throw new Error(`pod ${name} not in rotation after ${ms} ms`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    /** Connections the LB's pool holds to a pod right now. */
    connectedTo (name) { return pods.get(name)?.pool.stats.connected ?? 0 },
    eventAt (pod, what) { return events.find((e) => e.pod === pod && e.what === what)?.at },
    async close () {
      closed = true
      for (const name of [...pods.keys()]) await this.remove(name)
      for (const socket of tunnels) socket.destroy()
      server.closeAllConnections?.()
      await new Promise((resolve) => server.close(() => resolve()))
    }
  }
}
