/**
 * The example service's GET /metrics shows graceful's own series: requests in flight and
 * the sqlite readiness check's durations.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { type ServiceProcess, startService } from '../examples/service/src/child.mjs'

for (const framework of ['fastify', 'express'] as const) {
  t.test(`${framework} entry: graceful_requests_in_flight and graceful_check_duration on /metrics`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), `graceful-metrics-${framework}-`))
    const children: ServiceProcess[] = []
    t.teardown(() => {
      for (const child of children) child.kill()
      rmSync(dir, { recursive: true, force: true })
    })
    const service = await startService({ framework, env: { DB_PATH: join(dir, 'service.db'), LOG_REQUESTS: 'false' }, onStart: s => children.push(s) })
    t.equal((await request(`${service.url}/ready`)).statusCode, 200, 'the sqlite check ran')
    // A request in flight while /metrics is scraped; the scrape is a probe path, never a request.
    const slow = request(`${service.url}/slow?ms=1500`)
    let text = ''
    for (let i = 0; i < 50 && !/^graceful_requests_in_flight\{[^}]*\} 1$/m.test(text); i++) {
      text = await (await request(`${service.url}/metrics`)).body.text()
    }
    t.match(text, /^graceful_requests_in_flight\{[^}]*\} 1$/m, 'the slow request is in flight, the scrape is not counted')
    await (await slow).body.dump()
    t.match(text, /^graceful_check_duration_count\{graceful_check_name="sqlite",graceful_check_outcome="ok"[^}]*\} [1-9]/m)
    service.signal('SIGTERM')
    t.equal((await service.waitForExit(20_000)).code, 0)
  })
}
