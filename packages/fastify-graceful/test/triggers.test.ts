import t from 'tap'
import { start } from './helpers.js'

t.test('only the configured signals start a shutdown', async (t) => {
  // The coordinator listens to SIGUSR2 only; the host handles SIGHUP itself, so the process survives it.
  const hostListener = (): void => {}
  process.on('SIGHUP', hostListener)
  t.teardown(() => { process.off('SIGHUP', hostListener) })
  const { app } = await start(t, { signals: ['SIGUSR2'] })
  process.kill(process.pid, 'SIGHUP')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(app.graceful.state, 'running', 'an unconfigured signal does not start a shutdown')
  process.kill(process.pid, 'SIGUSR2')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.not(app.graceful.state, 'running', 'the configured signal does')
  await app.graceful.shutdown()
})

t.test('no route starts a shutdown: probe routes with other methods, and shutdown-looking paths', async (t) => {
  const { app, get } = await start(t)
  const answers = await Promise.all([
    get('/shutdown'), get('/graceful'), get('/close'), get('/ready?shutdown=1'), get('/health?exit=1')
  ])
  t.same(answers.map((a) => a.status), [404, 404, 404, 200, 200])
  t.equal(app.graceful.state, 'running')
  t.equal(app.graceful.readiness().ready, true)
})
