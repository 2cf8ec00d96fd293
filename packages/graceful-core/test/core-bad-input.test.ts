/**
 * Bad input fails at once (synchronously), with a GracefulTypeError / GracefulRangeError (code
 * GRACEFUL_ERR_INVALID_OPTION) or GracefulStateError (GRACEFUL_ERR_TOO_LATE) whose message names
 * the option or call.
 */
import t, { type Test } from 'tap'
import { EventEmitter } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import {
  createGraceful, GracefulRangeError, GracefulStateError, GracefulTypeError, INVALID_OPTION, REGISTERED_TOO_LATE,
  type Graceful, type GracefulOptions
} from '../src/index.js'
import { deferred, quiet, within } from './helpers/inprocess.js'

type Kind = 'type' | 'range' | 'state'
const CLASSES = { type: [GracefulTypeError, TypeError], range: [GracefulRangeError, RangeError], state: [GracefulStateError, Error] } as const
const CODES = { type: INVALID_OPTION, range: INVALID_OPTION, state: REGISTERED_TOO_LATE } as const

function throwsNaming (t: Test, fn: () => unknown, kind: Kind, message: RegExp, title: string): void {
  let thrown: unknown
  let returned = false
  try {
    fn()
    returned = true
  } catch (error) {
    thrown = error
  }
  if (returned) {
    t.fail(`${title}: did not throw`)
    return
  }
  const [own, base] = CLASSES[kind]
  t.ok(thrown instanceof own && thrown instanceof base, `${title}: throws a ${own.name} (got ${(thrown as Error)?.name})`)
  t.equal((thrown as { code?: unknown }).code, CODES[kind], `${title}: code ${CODES[kind]}`)
  t.match((thrown as Error).message, message, `${title}: the message names it`)
}

const create = (options: unknown) => () => createGraceful(options as GracefulOptions)
const withQuiet = (extra: Record<string, unknown>) => create({ ...quiet(), ...extra })

t.test('rejects a non-object options argument', async (t) => {
  throwsNaming(t, create(5), 'type', /^options must be an object, got 5/, 'a number')
  throwsNaming(t, create(null), 'type', /^options must be an object, got null/, 'null')
  throwsNaming(t, create('SIGTERM'), 'type', /^options must be an object/, 'a string')
})

t.test('rejects an unknown option key, naming it', async (t) => {
  throwsNaming(t, withQuiet({ gracePeriod: 1000 }), 'type', /^options\.gracePeriod must be one of .*gracePeriodMs.*\(unknown option\)/, 'gracePeriod')
  throwsNaming(t, withQuiet({ signal: ['SIGTERM'] }), 'type', /^options\.signal must be/, 'signal (typo of signals)')
})

t.test('rejects bad signals: not an array, unknown names, uncatchable signals', async (t) => {
  throwsNaming(t, withQuiet({ signals: 'SIGTERM' }), 'type', /^signals must be an array/, 'a string')
  throwsNaming(t, withQuiet({ signals: ['SIGFOO'] }), 'type', /^signals must be .*got "SIGFOO"/, 'an unknown name')
  throwsNaming(t, withQuiet({ signals: ['sigterm'] }), 'type', /^signals must be .*got "sigterm"/, 'a lower-case name')
  throwsNaming(t, withQuiet({ signals: ['SIGKILL'] }), 'type', /^signals must be .*catchable.*got "SIGKILL"/, 'SIGKILL')
  throwsNaming(t, withQuiet({ signals: ['SIGSTOP'] }), 'type', /^signals must be .*got "SIGSTOP"/, 'SIGSTOP')
  throwsNaming(t, withQuiet({ signals: [15] }), 'type', /^signals must be .*got 15/, 'a number')
  throwsNaming(t, withQuiet({ signals: ['SIGTERM', null] }), 'type', /^signals must be .*got null/, 'null in the list')
})

const DURATIONS = ['preStopDelayMs', 'preStopQuietMs', 'preStopMaxMs', 'gracePeriodMs', 'hookTimeoutMs', 'terminationGracePeriodMs']

t.test('rejects negative, NaN, infinite, too large and non-number durations, naming the option', async (t) => {
  for (const option of DURATIONS) {
    // preStopMaxMs must be at least preStopDelayMs (0 by default), so bad values of it stay bad.
    throwsNaming(t, withQuiet({ [option]: -1 }), 'range', new RegExp(`^${option} must be a .*number of milliseconds.*got -1`), `${option}: -1`)
    throwsNaming(t, withQuiet({ [option]: NaN }), 'type', new RegExp(`^${option} must be .*got NaN`), `${option}: NaN`)
    throwsNaming(t, withQuiet({ [option]: Infinity }), 'type', new RegExp(`^${option} must be .*got Infinity`), `${option}: Infinity`)
    throwsNaming(t, withQuiet({ [option]: -Infinity }), 'type', new RegExp(`^${option} must be`), `${option}: -Infinity`)
    throwsNaming(t, withQuiet({ [option]: '1000' }), 'type', new RegExp(`^${option} must be .*got "1000"`), `${option}: a string`)
    throwsNaming(t, withQuiet({ [option]: null }), 'type', new RegExp(`^${option} must be .*got null`), `${option}: null`)
    throwsNaming(t, withQuiet({ [option]: 2 ** 31 }), 'range', new RegExp(`^${option} must be .*up to 2147483647`), `${option}: beyond setTimeout`)
  }
})

t.test('rejects zero where a duration must be positive', async (t) => {
  for (const option of ['gracePeriodMs', 'hookTimeoutMs', 'terminationGracePeriodMs']) {
    throwsNaming(t, withQuiet({ [option]: 0 }), 'range', new RegExp(`^${option} must be a positive number`), `${option}: 0`)
  }
})

t.test('rejects preStopMaxMs below preStopDelayMs', async (t) => {
  throwsNaming(t, withQuiet({ preStopDelayMs: 5000, preStopMaxMs: 1000 }), 'range', /^preStopMaxMs must be at least preStopDelayMs \(5000\), got 1000/, 'max < delay')
  throwsNaming(t, withQuiet({ preStopDelayMs: 5000, preStopQuietMs: 500, preStopMaxMs: 4999 }), 'range', /^preStopMaxMs must be at least preStopDelayMs/, 'max < delay with a quiet period')
})

t.test('rejects a non-boolean exitWithSignalCode', async (t) => {
  throwsNaming(t, withQuiet({ exitWithSignalCode: 'yes' }), 'type', /^exitWithSignalCode must be a boolean, got "yes"/, 'a string')
  throwsNaming(t, withQuiet({ exitWithSignalCode: 1 }), 'type', /^exitWithSignalCode must be a boolean, got 1/, 'a number')
  throwsNaming(t, withQuiet({ exitWithSignalCode: null }), 'type', /^exitWithSignalCode must be a boolean/, 'null')
})

t.test('rejects a bad exit', async (t) => {
  throwsNaming(t, withQuiet({ exit: 'no' }), 'type', /^exit must be true, false or a function/, 'a string')
  throwsNaming(t, withQuiet({ exit: 0 }), 'type', /^exit must be .*got 0/, 'a number')
  throwsNaming(t, withQuiet({ exit: null }), 'type', /^exit must be .*got null/, 'null')
  throwsNaming(t, withQuiet({ exit: {} }), 'type', /^exit must be .*got an object/, 'an object')
})

t.test('rejects a bad logger', async (t) => {
  throwsNaming(t, withQuiet({ logger: true }), 'type', /^logger must be a logger with info, warn and error methods/, 'true')
  throwsNaming(t, withQuiet({ logger: null }), 'type', /^logger must be/, 'null')
  throwsNaming(t, withQuiet({ logger: {} }), 'type', /^logger must be/, 'an empty object')
  throwsNaming(t, withQuiet({ logger: { info () {}, warn () {} } }), 'type', /^logger must be/, 'no error method')
  throwsNaming(t, withQuiet({ logger: (): void => {} }), 'type', /^logger must be .*got a function/, 'a function')
})

t.test('rejects bad probePaths', async (t) => {
  throwsNaming(t, withQuiet({ probePaths: '/health' }), 'type', /^probePaths must be an array of paths starting with '\/'/, 'a string')
  throwsNaming(t, withQuiet({ probePaths: ['health'] }), 'type', /^probePaths must be/, 'a relative path')
  throwsNaming(t, withQuiet({ probePaths: ['/ready', 7] }), 'type', /^probePaths must be/, 'a number in the list')
})

t.test('rejects a bad TERMINATION_GRACE_PERIOD_SECONDS in the environment', async (t) => {
  const before = process.env.TERMINATION_GRACE_PERIOD_SECONDS
  t.teardown(() => {
    if (before === undefined) delete process.env.TERMINATION_GRACE_PERIOD_SECONDS
    else process.env.TERMINATION_GRACE_PERIOD_SECONDS = before
  })
  process.env.TERMINATION_GRACE_PERIOD_SECONDS = 'thirty'
  throwsNaming(t, withQuiet({}), 'type', /^TERMINATION_GRACE_PERIOD_SECONDS must be a positive number of seconds, got "thirty"/, 'a word')
  process.env.TERMINATION_GRACE_PERIOD_SECONDS = '-5'
  throwsNaming(t, withQuiet({}), 'type', /^TERMINATION_GRACE_PERIOD_SECONDS must be/, 'negative')
})

t.test('rejects a bad longLived window or close code, naming the option and the expected form', async (t) => {
  throwsNaming(t, withQuiet({ longLived: 3000 }), 'type', /^longLived must be an object such as \{ spreadMs: 3000, closeCode: 1012 \}, got 3000$/, 'not an object')
  throwsNaming(t, withQuiet({ longLived: { spread: 3000 } }), 'type', /^longLived\.spread must be one of spreadMs, closeCode \(unknown option\)/, 'an unknown key')
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '3000']) {
    throwsNaming(t, withQuiet({ longLived: { spreadMs: bad } }), typeof bad === 'number' && bad < 0 ? 'range' : 'type',
      /^longLived\.spreadMs must be a non-negative number of milliseconds/, `spreadMs ${String(bad)}`)
  }
  throwsNaming(t, withQuiet({ gracePeriodMs: 10_000, longLived: { spreadMs: 10_001 } }), 'range',
    /^longLived\.spreadMs must be at most gracePeriodMs \(10000\): the closes are spread within the drain, got 10001$/, 'a window longer than the grace period')
  for (const bad of [999, 1005, 1015, 2000, 5000, 1012.5]) {
    throwsNaming(t, withQuiet({ longLived: { closeCode: bad } }), 'range',
      /^longLived\.closeCode must be a WebSocket close code a server may send: 1000–1003, 1007–1014 .* or 3000–4999, got /, `close code ${bad}`)
  }
  throwsNaming(t, withQuiet({ longLived: { closeCode: '1012' } }), 'type', /^longLived\.closeCode must be a WebSocket close code/, 'a string close code')
  for (const good of [{ spreadMs: 0 }, { spreadMs: 30_000 }, { closeCode: 1001 }, { closeCode: 4000 }, {}]) {
    t.doesNotThrow(() => { void createGraceful({ ...quiet(), longLived: good }).shutdown() }, `accepts ${JSON.stringify(good)}`)
  }
})

t.test('rejects a holdLongLived() without a connection or without a promise', async (t) => {
  const graceful = createGraceful(quiet())
  t.teardown(() => graceful.shutdown())
  throwsNaming(t, () => graceful.holdLongLived(undefined as never, Promise.resolve()), 'type', /^holdLongLived\(connection\) must be a WebSocket or an event stream's response object, got undefined$/, 'no connection')
  throwsNaming(t, () => graceful.holdLongLived({}, (() => {}) as never), 'type', /^holdLongLived\(connection, work\) must be a promise that settles when the message is written, got a function$/, 'a function')
})

t.test('installs no signal handler when the options are rejected', async (t) => {
  const before = process.listenerCount('SIGTERM')
  t.throws(() => createGraceful({ signals: ['SIGTERM'], exit: false, logger: false, gracePeriodMs: -1 }))
  t.equal(process.listenerCount('SIGTERM'), before)
})

function fresh (t: Test): Graceful {
  const graceful = createGraceful(quiet())
  t.teardown(async () => { await graceful.shutdown() })
  return graceful
}

t.test('rejects non-function hooks', async (t) => {
  const g = fresh(t)
  throwsNaming(t, () => g.onCleanup('db', 'close' as never), 'type', /^onCleanup\('db', fn\) must be a function/, 'onCleanup with a string')
  throwsNaming(t, () => g.onCleanup('db', undefined as never), 'type', /^onCleanup\('db', fn\) must be a function/, 'onCleanup without fn')
  throwsNaming(t, () => g.onPersist('save', Promise.resolve() as never), 'type', /^onPersist\('save', fn\) must be a function/, 'onPersist with a promise')
})

t.test('rejects empty and non-string hook names', async (t) => {
  const g = fresh(t)
  for (const method of ['onCleanup', 'onPersist'] as const) {
    throwsNaming(t, () => g[method]('', () => {}), 'type', new RegExp(`^${method}\\(name\\) must be a non-empty string, got ""`), `${method}: empty`)
    throwsNaming(t, () => g[method]('   ', () => {}), 'type', new RegExp(`^${method}\\(name\\) must be a non-empty string`), `${method}: blank`)
    throwsNaming(t, () => g[method](42 as never, () => {}), 'type', new RegExp(`^${method}\\(name\\) must be .*got 42`), `${method}: a number`)
    throwsNaming(t, () => g[method](undefined as never, () => {}), 'type', new RegExp(`^${method}\\(name\\) must be`), `${method}: missing`)
  }
})

t.test('rejects a duplicate hook name within a phase', async (t) => {
  const g = fresh(t)
  const calls: string[] = []
  g.onCleanup('db', () => { calls.push('first') })
  throwsNaming(t, () => g.onCleanup('db', () => { calls.push('second') }), 'type', /^onCleanup\(name\) must be unique.*got "db"/, 'cleanup twice')
  throwsNaming(t, () => g.onCleanup('db', () => {}, { afterPersist: true }), 'type', /^onCleanup\(name\) must be unique/, 'cleanup twice, once afterPersist')
  g.onPersist('state', () => {})
  throwsNaming(t, () => g.onPersist('state', () => {}), 'type', /^onPersist\(name\) must be unique.*got "state"/, 'persist twice')
  g.onPersist('db', () => { calls.push('persist db') })
  const report = await within(g.shutdown(), 5000, 'shutdown')
  t.same(calls, ['first', 'persist db'], 'the rejected registrations registered nothing')
  t.same(report.hooks.map((h) => h.name), ['db', 'state', 'db'])
})

t.test('rejects a bad hook timeoutMs, naming the hook', async (t) => {
  const g = fresh(t)
  for (const method of ['onCleanup', 'onPersist'] as const) {
    const prefix = `^${method}\\('h'\\) options\\.timeoutMs must be`
    throwsNaming(t, () => g[method]('h', () => {}, { timeoutMs: -1 }), 'range', new RegExp(`${prefix} a positive number.*got -1`), `${method}: -1`)
    throwsNaming(t, () => g[method]('h', () => {}, { timeoutMs: 0 }), 'range', new RegExp(`${prefix} a positive number`), `${method}: 0`)
    throwsNaming(t, () => g[method]('h', () => {}, { timeoutMs: NaN }), 'type', new RegExp(`${prefix}.*got NaN`), `${method}: NaN`)
    throwsNaming(t, () => g[method]('h', () => {}, { timeoutMs: Infinity }), 'type', new RegExp(`${prefix}.*got Infinity`), `${method}: Infinity`)
    throwsNaming(t, () => g[method]('h', () => {}, { timeoutMs: '100' as never }), 'type', new RegExp(`${prefix}.*got "100"`), `${method}: a string`)
  }
})

t.test('rejects unknown hook option keys and bad hook options', async (t) => {
  const g = fresh(t)
  throwsNaming(t, () => g.onCleanup('h', () => {}, { timeout: 100 } as never), 'type', /^onCleanup\('h'\) options\.timeout must be one of timeoutMs, afterPersist \(unknown option\)/, 'onCleanup timeout')
  throwsNaming(t, () => g.onPersist('h', () => {}, { afterPersist: true } as never), 'type', /^onPersist\('h'\) options\.afterPersist must be one of timeoutMs \(unknown option\)/, 'onPersist afterPersist')
  throwsNaming(t, () => g.onCleanup('h', () => {}, { afterPersist: 'yes' } as never), 'type', /^onCleanup\('h'\) options\.afterPersist must be a boolean, got "yes"/, 'afterPersist a string')
  throwsNaming(t, () => g.onCleanup('h', () => {}, null as never), 'type', /^onCleanup\('h'\) options must be an object, got null/, 'options null')
  throwsNaming(t, () => g.onPersist('h', () => {}, 100 as never), 'type', /^onPersist\('h'\) options must be an object, got 100/, 'options a number')
})

t.test('rejects a non-task in track()', async (t) => {
  const g = fresh(t)
  for (const [what, value] of [['a number', 5], ['null', null], ['an object without then', {}], ['a string', 'job'], ['undefined', undefined]] as const) {
    throwsNaming(t, () => g.track(value as never), 'type', /^track\(task\) must be a Promise or a function/, what)
  }
})

t.test('rejects a non-server in addServer()', async (t) => {
  const g = fresh(t)
  for (const [what, value] of [['an object', {}], ['null', null], ['an EventEmitter', new EventEmitter()], ['a request handler', () => {}], ['a socket', new net.Socket()]] as const) {
    throwsNaming(t, () => g.addServer(value as never), 'type', /^addServer\(server\) must be a node:http, node:https or node:http2 server/, what)
  }
})

t.test("names every accepted kind of server in addServer()'s error, the native ones too", async (t) => {
  const g = fresh(t)
  throwsNaming(t, () => g.addServer({ close () {} } as never), 'type', /^addServer\(server\) must be a node:http, node:https or node:http2 server, or the server of Bun\.serve\(\) or Deno\.serve\(\)/, 'an object with close()')
})

t.test('rejects a fetch handler that is not a function', async (t) => {
  const g = fresh(t)
  for (const [what, value] of [['an object', {}], ['a Hono app instead of its fetch', { fetch: () => new Response() }], ['undefined', undefined]] as const) {
    throwsNaming(t, () => g.fetchHandler(value as never), 'type', /^fetchHandler\(handler\) must be a function \(request, \.\.\.\) => Response, such as app\.fetch/, what)
  }
})

t.test('rejects a plain net.Server, which speaks no HTTP, in addServer()', async (t) => {
  const g = fresh(t)
  throwsNaming(t, () => g.addServer(net.createServer() as never), 'type', /^addServer\(server\) must be a node:http, node:https or node:http2 server/, 'net.Server')
})

t.test('rejects a non-string shutdown reason', async (t) => {
  const g = fresh(t)
  throwsNaming(t, () => g.shutdown(15 as never), 'type', /^shutdown\(reason\) must be a string, got 15/, 'a number')
  t.equal(g.state, 'starting', 'and does not start the shutdown')
})

t.test('rejects registration after shutdown began with GracefulStateError', async (t) => {
  const g = createGraceful({ ...quiet(), preStopDelayMs: 100 })
  const server = http.createServer()
  const lateServer = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close(); lateServer.close() })
  g.addServer(server)
  const inCleanup = deferred<Array<[string, unknown]>>()
  g.onCleanup('probe', () => {
    const errors: Array<[string, unknown]> = []
    const attempt = (what: string, fn: () => unknown): void => {
      try { fn(); errors.push([what, undefined]) } catch (error) { errors.push([what, error]) }
    }
    attempt('track', () => { g.track(Promise.resolve()) })
    attempt('addServer', () => g.addServer(lateServer))
    attempt('onPersist', () => g.onPersist('late-persist', () => {}))
    inCleanup.resolve(errors)
  })
  const run = g.shutdown()
  // While draining (pre-stop): hooks are too late, tasks are still welcome.
  throwsNaming(t, () => g.onCleanup('late', () => {}), 'state', /^onCleanup\('late'\) was called after shutdown began \(state 'draining'\)/, 'onCleanup while draining')
  throwsNaming(t, () => g.onPersist('late', () => {}), 'state', /^onPersist\('late'\) was called after shutdown began/, 'onPersist while draining')
  t.doesNotThrow(() => { g.track(Promise.resolve()) }, 'track() while draining is fine')
  const errors = await within(inCleanup.promise, 5000, 'cleanup hook')
  for (const [what, error] of errors) {
    t.ok(error instanceof GracefulStateError, `${what} while cleaning throws GracefulStateError`)
    t.equal((error as { code?: string } | undefined)?.code, REGISTERED_TOO_LATE)
  }
  t.match((errors[0]![1] as Error).message, /^track\(\) was called after shutdown began \(state 'cleaning'\)/)
  t.match((errors[1]![1] as Error).message, /^addServer\(\) was called after shutdown began/)
  t.match((errors[2]![1] as Error).message, /^onPersist\('late-persist'\) was called after shutdown began/)
  await within(run, 5000, 'shutdown')
  throwsNaming(t, () => g.onCleanup('after', () => {}), 'state', /^onCleanup\('after'\) was called after shutdown began \(state 'stopped'\)/, 'onCleanup when stopped')
  throwsNaming(t, () => g.track(async () => {}), 'state', /^track\(\) was called after shutdown began \(state 'stopped'\)/, 'track when stopped')
})

t.test('rejects a request listener that is not a function', async (t) => {
  const g = fresh(t)
  for (const [what, value] of [['a Koa app instead of its callback()', { callback: () => () => {} }], ['a Hono app instead of a node listener', { fetch: () => new Response() }], ['undefined', undefined]] as const) {
    throwsNaming(t, () => g.requestListener(value as never), 'type', /^requestListener\(listener\) must be a function \(req, res\) => void, such as an express app, Koa's app\.callback\(\)/, what)
  }
})
