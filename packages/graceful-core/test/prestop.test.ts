import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { createGraceful, type GracefulOptions } from '../src/index.js'
import { resolveOptions } from '../src/options.js'

async function startServer (t: Test, options: GracefulOptions) {
  const graceful = createGraceful({ signals: [], exit: false, logger: false, probePaths: ['/ready'], ...options })
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/ready')) {
      res.statusCode = graceful.readiness().ready ? 200 : 503
    }
    res.end('ok')
  })
  graceful.addServer(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const agent = new Agent({ connections: 8 })
  t.teardown(async () => {
    server.closeAllConnections()
    server.close()
    await agent.destroy()
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { graceful, server, agent, base }
}

/** Sends a request every 30 ms until the returned function is called. */
function keepSending (agent: Agent, url: string): () => Promise<void> {
  let sending = true
  const sender = (async () => {
    for (let i = 0; sending && i < 500; i++) {
      const res = await request(url, { dispatcher: agent }).catch(() => undefined)
      await res?.body.dump()
      await sleep(30)
    }
  })()
  return async () => {
    sending = false
    await sender
  }
}

t.test('pre-stop ends one quiet period after the last request, and serves every request until then', async (t) => {
  const { graceful, agent, base } = await startServer(t, { preStopDelayMs: 200, preStopQuietMs: 600, preStopMaxMs: 15_000, gracePeriodMs: 20_000 })
  const failures: unknown[] = []
  let ok = 0
  const started = performance.now()
  const report = graceful.shutdown('test')
  let lastSentAt = 0
  // Clients keep sending for 1.5 s after the signal (the load balancer still routes to us), then stop.
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (performance.now() - started < 1500) {
      lastSentAt = performance.now() - started
      try {
        const res = await request(`${base}/work`, { dispatcher: agent })
        await res.body.dump()
        if (res.statusCode === 200) ok++
        else failures.push(res.statusCode)
      } catch (error) {
        failures.push(error)
      }
      await sleep(20)
    }
  }))
  const { phases, exitCode } = await report
  t.same(failures, [], 'no request failed')
  t.ok(ok > 0, `requests were served during pre-stop (${ok})`)
  t.equal(phases.preStop.endedBy, 'quiet')
  t.ok(phases.preStop.durationMs >= lastSentAt + 600 - 50, `pre-stop (${phases.preStop.durationMs} ms) lasted a quiet period past the last request (${Math.round(lastSentAt)} ms)`)
  t.ok(phases.preStop.durationMs < lastSentAt + 600 + 3000, 'and did not run on to the maximum')
  t.ok(phases.preStop.requests >= ok - 8, 'the report counts the requests that arrived during pre-stop')
  t.equal(exitCode, 0)
})

t.test('with no traffic, pre-stop ends after the minimum plus one quiet period, not at the maximum', async (t) => {
  const { graceful } = await startServer(t, { preStopDelayMs: 300, preStopQuietMs: 300, preStopMaxMs: 10_000 })
  const { phases } = await graceful.shutdown('test')
  t.equal(phases.preStop.endedBy, 'quiet')
  t.ok(phases.preStop.durationMs >= 600 - 20, `lasted the minimum plus the quiet period (${phases.preStop.durationMs} ms)`)
  t.ok(phases.preStop.durationMs < 5000, 'far from the maximum')
  t.equal(phases.preStop.requests, 0)
})

t.test('probe requests during pre-stop do not keep it open', async (t) => {
  const { graceful, agent, base } = await startServer(t, { preStopDelayMs: 200, preStopQuietMs: 300, preStopMaxMs: 10_000 })
  const report = graceful.shutdown('test')
  let probing = true
  const statuses = new Set<number>()
  const prober = (async () => {
    for (let i = 0; probing && i < 200; i++) {
      const res = await request(`${base}/ready?probe=${i}`, { dispatcher: agent }).catch(() => undefined)
      if (res) { statuses.add(res.statusCode); await res.body.dump() }
      await sleep(25)
    }
  })()
  const { phases } = await report
  probing = false
  await prober
  t.equal(phases.preStop.endedBy, 'quiet')
  t.ok(phases.preStop.durationMs < 5000, `probes did not extend pre-stop (${phases.preStop.durationMs} ms)`)
  t.equal(phases.preStop.requests, 0, 'probes are not counted as traffic')
  t.ok(statuses.has(503), 'the probe saw 503 while draining')
})

t.test('pre-stop ends at the maximum when traffic never stops', async (t) => {
  const { graceful, agent, base } = await startServer(t, { preStopDelayMs: 100, preStopQuietMs: 300, preStopMaxMs: 800 })
  const report = graceful.shutdown('test')
  const stopSending = keepSending(agent, `${base}/work`)
  const { phases } = await report
  await stopSending()
  t.equal(phases.preStop.endedBy, 'max')
  t.ok(phases.preStop.durationMs >= 800 - 20 && phases.preStop.durationMs < 5000, `ended at the maximum (${phases.preStop.durationMs} ms)`)
})

t.test('a fixed delay is reported as fixed', async (t) => {
  const { graceful } = await startServer(t, { preStopDelayMs: 150 })
  const { phases } = await graceful.shutdown('test')
  t.equal(phases.preStop.endedBy, 'fixed')
  t.ok(phases.preStop.durationMs >= 150 - 20)
})

t.test('under Kubernetes pre-stop is traffic-aware by default; a delay alone stays fixed', async (t) => {
  const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1' }
  const defaults = resolveOptions({}, env)
  t.same([defaults.preStopDelayMs, defaults.preStopQuietMs, defaults.preStopMaxMs], [1000, 1000, 15_000])
  const fixed = resolveOptions({ preStopDelayMs: 5000 }, env)
  t.same([fixed.preStopDelayMs, fixed.preStopQuietMs, fixed.preStopMaxMs], [5000, 0, 5000])
  const outside = resolveOptions({}, {})
  t.same([outside.preStopDelayMs, outside.preStopQuietMs, outside.preStopMaxMs], [0, 0, 0])
})

t.test('connections accepted during pre-stop stay keep-alive until the drain, except on a cluster worker or a socket-activated service', async (t) => {
  t.equal(resolveOptions({}, {}).keepAliveInPreStop, true, 'by default')
  t.equal(resolveOptions({}, { KUBERNETES_SERVICE_HOST: '10.0.0.1' }).keepAliveInPreStop, true, 'under Kubernetes')
  t.equal(resolveOptions({}, { NODE_UNIQUE_ID: '1' }).keepAliveInPreStop, false, 'not on a cluster worker (PM2 cluster mode included)')
  t.equal(resolveOptions({}, { LISTEN_FDS: '1' }).keepAliveInPreStop, false, 'not with systemd socket activation')
})

t.test('pre-stop stays inside the budget: it takes at most two thirds of what the hooks leave, so drain, cleanup and persistence keep their share', async (t) => {
  const { graceful, agent, base } = await startServer(t, { preStopDelayMs: 100, preStopQuietMs: 300, preStopMaxMs: 60_000, gracePeriodMs: 2000 })
  graceful.onPersist('state', () => sleep(50), { timeoutMs: 500 })
  const report = graceful.shutdown('test')
  const stopSending = keepSending(agent, `${base}/work`)
  const { phases, hooks, durationMs } = await report
  await stopSending()
  t.equal(phases.preStop.endedBy, 'budget', 'pre-stop ended at the budget, short of preStopMaxMs')
  t.equal(phases.preStop.configuredMs, 60_000, 'the report keeps the configured pre-stop')
  t.equal(phases.preStop.effectiveMs, 1000, 'and the effective one: (2000 - 500) × 2/3')
  t.ok(phases.preStop.durationMs < 1500, `pre-stop (${phases.preStop.durationMs} ms) left the drain its third`)
  t.same(hooks.map((h) => h.outcome), ['ok'])
  t.ok(durationMs < 4000, 'the whole run stayed near gracePeriodMs')
})
