/**
 * The README's "Several coordinators in one process" example as written: two fastify apps, each
 * serving a 2.5 s request at SIGTERM. Both requests complete, both persist hooks run, exit 0.
 */
import { join } from 'node:path'
import t from 'tap'
import { Agent, request } from 'undici'
import { jsBlocks, runBlock } from './helpers/readme-code.js'

const [example] = jsBlocks(join(import.meta.dirname, '..', 'README.md'), 'Several coordinators in one process')

t.test('SIGTERM to two fastify apps in one process: both slow requests 200, both persist hooks run, exit 0', async (t) => {
  t.ok(example, 'the README has the example')
  const block = runBlock(t, example ?? '', { PORT: '0', ADMIN_PORT: '0' })
  const [, api, admin] = await block.waitFor(/api on (\d+), admin on (\d+)/)
  const agent = new Agent()
  t.teardown(() => agent.close())
  const get = async (port: string | undefined, path: string): Promise<{ status: number, body: unknown }> => {
    const res = await request(`http://127.0.0.1:${port}${path}`, { dispatcher: agent })
    return { status: res.statusCode, body: await res.body.json() }
  }
  const answers = Promise.all([get(api, '/export'), get(admin, '/compact')])
  // Both requests are in flight once each app has one open connection with a request on it.
  await new Promise((resolve) => setTimeout(resolve, 500))
  block.child.kill('SIGTERM')
  t.same(await answers, [{ status: 200, body: { exported: true } }, { status: 200, body: { compacted: true } }], 'both slow requests complete')
  t.equal(await block.exited, 0, 'the process exits 0')
  t.match(block.output(), /orders saved/, 'the API\'s persist hook ran')
  t.match(block.output(), /audit log saved/, 'the admin\'s persist hook ran, though it finished last')
})
