/**
 * The example service's GET /metrics (examples/service/src/metrics.mjs), once per entry: the
 * Prometheus exporter answers on the service's own port, and a scrape is not traffic (probePaths),
 * so it does not hold a traffic-aware pre-stop window open. What graceful's own series show once
 * the coordinator publishes is in example-metrics.pending.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { type ServiceProcess, startService } from '../examples/service/src/child.mjs'

const EXIT_TIMEOUT_MS = 20_000 // a hang guard, not a timing assertion

for (const framework of ['fastify', 'express'] as const) {
  t.test(`${framework} entry: GET /metrics in the Prometheus text format; scrapes do not keep pre-stop open`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), `graceful-metrics-${framework}-`))
    const children: ServiceProcess[] = []
    t.teardown(() => {
      for (const child of children) child.kill()
      rmSync(dir, { recursive: true, force: true })
    })
    const service = await startService({
      framework,
      // Traffic-aware pre-stop: it ends 300 ms after the last real request, however long scrapes go on.
      env: { DB_PATH: join(dir, 'service.db'), PRESTOP_DELAY_MS: '0', PRESTOP_QUIET_MS: '300', PRESTOP_MAX_MS: '15000', LOG_REQUESTS: 'false' },
      onStart: s => children.push(s)
    })
    const res = await request(`${service.url}/metrics`)
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^text\/plain/)
    t.match(await res.body.text(), /^target_info\{/m, 'the OpenTelemetry Prometheus exporter answers')

    service.signal('SIGTERM')
    let scrapes = 0
    // Scrape until the service stops answering: with scrapes counted as traffic this would last
    // until preStopMaxMs (15 s); counted as probes, pre-stop ends after its quiet time.
    while (service.exit === undefined && scrapes < 1000) {
      try {
        await (await request(`${service.url}/metrics`, { reset: true })).body.dump()
        scrapes++
      } catch {
        break // the listener closed: the drain began
      }
    }
    const exit = await service.waitForExit(EXIT_TIMEOUT_MS)
    t.equal(exit.code, 0)
    t.ok(scrapes > 0, 'scraped during pre-stop')
    t.equal(service.report?.phases.preStop.requests, 0, 'no scrape was counted as traffic')
    t.equal(service.report?.phases.preStop.endedBy, 'quiet', 'pre-stop ended by its quiet time')
  })
}
