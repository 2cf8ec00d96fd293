/**
 * What graceful says about a shutdown: probes are never counted as requests, no URL password reaches
 * a log or the report, a check's first failure names no previous outcome, a message logger gets the
 * summary as one readable line, a forced upgraded socket points at addWebSocketServer(), and the
 * drain deadline log says what it destroyed.
 */
import http from 'node:http'
import net from 'node:net'
import { once } from 'node:events'
import t from 'tap'
import { request } from 'undici'
import { createGraceful } from '../src/index.js'
import { nextState, quiet, recordingLogger, within } from './helpers/inprocess.js'
import { coordinator, listen } from './helpers/raw-http.js'

const SECRET_URL = 'postgres://admin:hunter2@db.internal:5432/app'

t.test('readiness polls during shutdown are counted as probes, never as requests', async (t) => {
  const graceful = createGraceful({ ...quiet(), preStopDelayMs: 1000 })
  const server = http.createServer((req, res) => {
    if (!graceful.handleProbe(req, res)) setTimeout(() => res.end('done'), 100)
  })
  graceful.addServer(server)
  const port = await listen(t, server)
  const base = `http://127.0.0.1:${port}`
  const run = graceful.shutdown('test')
  const real = request(`${base}/work`).then(async (res) => await res.body.text())
  let polls = 0
  // Polls through pre-stop, as a load balancer's health checks do (at least one, at most five).
  do {
    await (await request(`${base}/ready`)).body.dump()
    polls++
  } while (!graceful.drainSignal.aborted && polls < 5)
  t.equal(await real, 'done')
  const report = await run
  t.equal(report.requests.completedAfterSignal, 1, 'one request completed: the real one, not the polls')
  t.equal(report.probes.answered, polls, `the ${polls} polls are counted as probes`)
  t.match((await import('../src/report.js')).summaryLine(report), /, 1 requests completed,/, 'the summary line agrees')
})

t.test('no URL password reaches the log or the report: check errors, hook errors, faults', async (t) => {
  const logger = recordingLogger()
  const graceful = createGraceful({ ...quiet(logger) })
  graceful.check('db', () => { throw new Error(`connect ECONNREFUSED ${SECRET_URL}`) })
  graceful.onCleanup('db', () => { throw new Error(`cannot close ${SECRET_URL}`) })
  // Checks run while running: the first probe after start-up is the check's first failure.
  while (graceful.state === 'starting') await within(nextState(graceful), 2000, 'running')
  await graceful.probe('ready')
  const report = await graceful.shutdown('test')
  const logged = JSON.stringify(logger.entries, (_key, value: unknown) => value instanceof Error ? { message: value.message, stack: value.stack } : value)
  t.notMatch(logged, /hunter2/, 'the password is in no log line')
  t.match(logged, /postgres:\/\/admin:\*\*\*@db\.internal/, 'the URL is logged with its password masked')
  t.notMatch(JSON.stringify(report), /hunter2/, 'nor in the report')
  const firstFailure = logger.entries.find((e) => e.msg === 'readiness check db failed')
  t.ok(firstFailure, 'the first failure is logged')
  t.notOk('previous' in (firstFailure?.obj ?? {}), 'a check that never ran before names no previous outcome')
})

t.test('a message-first logger (NestJS Logger) gets the summary as one readable line, without the report as JSON', async (t) => {
  const lines: string[] = []
  const nestLike = { log: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) }
  const graceful = createGraceful({ signals: [], exit: false, logger: nestLike })
  await graceful.shutdown('test')
  const summary = lines.find((line) => line.startsWith('shutdown complete'))
  t.ok(summary, 'the summary is logged')
  t.notMatch(summary, /"report"/, 'without the report as JSON')
  t.ok((summary ?? '').length < 400, `one readable line (${summary?.length} characters)`)
})

t.test('upgraded sockets destroyed at the deadline without a registered WebSocket server: the log says to register it', async (t) => {
  const logger = recordingLogger()
  const server = http.createServer((_req, res) => res.end('ok'))
  server.on('upgrade', (_req, socket: net.Socket) => {
    socket.on('error', () => {})
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n')
  })
  const graceful = coordinator(t, { gracePeriodMs: 300, logger })
  graceful.addServer(server)
  const port = await listen(t, server)
  const client = net.connect(port, '127.0.0.1')
  client.on('error', () => {})
  t.teardown(() => { client.destroy() })
  await once(client, 'connect')
  client.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n')
  await once(client, 'data')
  const report = await graceful.shutdown('test')
  t.equal(report.sockets.destroyed, 1)
  const warning = logger.entries.find((e) => /drain deadline reached/.test(e.msg ?? ''))
  t.match(warning?.msg, /drain deadline reached; 1 remaining connection\(s\) destroyed/, 'the warning counts what it destroyed')
  t.match(warning?.msg, /graceful\.addWebSocketServer\(wss\)/, 'the warning names addWebSocketServer')
})

t.test('a drain deadline that only tasks outlived says so: no connection destroyed, the tasks counted as aborted', async (t) => {
  const logger = recordingLogger()
  const graceful = coordinator(t, { gracePeriodMs: 300, logger })
  const server = http.createServer((_req, res) => res.end('ok'))
  graceful.addServer(server)
  await listen(t, server)
  graceful.track(new Promise(() => {}))
  const report = await graceful.shutdown('test')
  t.equal(report.sockets.destroyed, 0, 'no socket was destroyed')
  t.equal(report.tasks.aborted, 1)
  const warning = logger.entries.find((e) => /^drain /.test(e.msg ?? ''))
  t.match(warning?.msg, /^drain deadline reached; no connection was left to destroy; 1 tracked task\(s\) still pending, counted as aborted$/)
  t.notMatch(warning?.msg, /connections destroyed/, 'it does not claim to have destroyed connections')
})
