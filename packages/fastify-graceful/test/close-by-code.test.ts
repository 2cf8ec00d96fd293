/** app.close() is fastify's contract: it resolves, onClose hooks run, the process goes on. */
import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

t.test('with the default options, await app.close() resolves, runs onClose and leaves the process alone; the summary reaches stdout though fastify\'s logger is off', async (t) => {
  const fixture = fileURLToPath(new URL('fixtures/close-with-defaults.mjs', import.meta.url))
  const { code, stdout } = await new Promise<{ code: number | null, stdout: string }>((resolve) => {
    const child = execFile(process.execPath, [fixture], { timeout: 20_000, env: { ...process.env, KUBERNETES_SERVICE_HOST: '' } }, (error, stdout) => {
      resolve({ code: error === null ? 0 : (typeof error.code === 'number' ? error.code : null), stdout })
    })
    t.teardown(() => { child.kill('SIGKILL') })
  })
  const lines = stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
  const markers = lines.flatMap((line) => (typeof line.fixture === 'string' ? [line.fixture] : []))
  t.same(markers, ['onClose', 'after-close'], 'onClose hooks ran, then the code after close()')
  t.equal(code, 42, 'the process ended by itself with the application\'s own exit code')
  const summary = lines.find((line) => typeof line.msg === 'string' && line.msg.startsWith('shutdown complete'))
  t.ok(summary, 'the shutdown summary was printed on stdout')
  t.match(summary?.report, { reason: 'app.close()', exitCode: 0 })
})
