/**
 * nestjs-graceful when the application forgets `attachGraceful(app)`: the coordinator says so once
 * the server listens, and `app.close()` still ends it (hooks, report, state), through the module's
 * own onApplicationShutdown.
 */
import 'reflect-metadata'
import t, { type Test } from 'tap'
import { type LoggerService, Module } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import type { ShutdownReport } from 'graceful-core'
import { attachGraceful, Graceful, GracefulModule } from '../src/index.js'

const MISSING_ATTACH = /call attachGraceful\(app\) after NestFactory\.create\(\)/

/** Nest's LoggerService that keeps the lines, as an application's logger would receive them. */
function capturingLogger (): LoggerService & { lines: string[] } {
  const lines: string[] = []
  const keep = (message: unknown): void => { lines.push(String(message)) }
  return { lines, log: keep, warn: keep, error: keep }
}

async function createApp (t: Test, exits: number[] = []) {
  class AppModule {}
  // No process signals in the test runner; an exit that would end the process is recorded instead.
  Module({ imports: [GracefulModule.forRoot({ signals: [], exit: (code) => { exits.push(code) } })] })(AppModule)
  const logger = capturingLogger()
  const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger })
  t.teardown(() => app.close())
  return { app, logger, graceful: app.get(Graceful) }
}

t.test('without attachGraceful(app), a warning naming the call is logged when the server starts listening', async (t) => {
  const { app, logger } = await createApp(t)
  t.notMatch(logger.lines.join('\n'), MISSING_ATTACH, 'nothing before the server listens: attachGraceful may still come')
  await app.listen(0, '127.0.0.1')
  t.equal(logger.lines.filter((line) => MISSING_ATTACH.test(line)).length, 1, 'one warning, through Nest\'s logger')
})

t.test('with attachGraceful(app), listening logs no such warning', async (t) => {
  const { app, logger } = await createApp(t)
  attachGraceful(app)
  await app.listen(0, '127.0.0.1')
  t.notMatch(logger.lines.join('\n'), MISSING_ATTACH)
})

t.test('without attachGraceful(app), app.close() still ends the coordinator: hooks run, the report is emitted, the state is stopped, the process is left alone', async (t) => {
  const exits: number[] = []
  const { app, graceful } = await createApp(t, exits)
  const steps: string[] = []
  graceful.onCleanup('cache', () => { steps.push('cleanup') })
  graceful.onPersist('save', () => { steps.push('persist') })
  const reports: ShutdownReport[] = []
  graceful.on('report', (report) => reports.push(report))
  await app.listen(0, '127.0.0.1')
  t.not(graceful.state, 'stopped', 'not ended by listening')

  await app.close()
  t.equal(reports.length, 1, 'one report, emitted before app.close() resolved')
  t.equal(reports[0]?.reason, 'app.close()', 'the run is attributed to app.close()')
  t.equal(reports[0]?.exitCode, 0, 'a clean run')
  t.equal(graceful.state, 'stopped', 'the coordinator ended')
  t.same(steps, ['cleanup', 'persist'], 'the cleanup and persist hooks ran')
  t.same(exits, [], 'the process was not ended')
})
