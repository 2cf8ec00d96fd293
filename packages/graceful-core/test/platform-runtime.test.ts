/**
 * The runtime read at creation: a Node.js below 20.3 is refused with an error naming what it lacks,
 * Bun and Deno get a warning naming what does not hold there, Node.js 20 and later none.
 * (test/runtimes/internals.test.ts checks the warnings on the real runtimes.)
 */
import t from 'tap'
import { createGraceful } from '../src/index.js'
import { GracefulRuntimeError, UNSUPPORTED_RUNTIME } from '../src/errors.js'
import { detectRuntime, runtimeWarnings, unsupportedRuntime } from '../src/platform/runtime.js'

t.test('detectRuntime names Bun and Deno by their own version, Node by its', async (t) => {
  t.same(detectRuntime({ node: '26.3.0', bun: '1.4.5' }), { name: 'bun', version: '1.4.5' })
  t.same(detectRuntime({ node: '26.3.0', deno: '2.9.6' }), { name: 'deno', version: '2.9.6' })
  t.same(detectRuntime({ node: '22.23.5' }), { name: 'node', version: '22.23.5' })
  t.same(detectRuntime(), { name: 'node', version: process.versions.node }, 'this process')
})

t.test('a Node.js below 20.3 is refused, naming the version and what is missing', async (t) => {
  const error = unsupportedRuntime({ name: 'node', version: '18.20.4' })
  t.type(error, GracefulRuntimeError)
  t.equal(error?.code, UNSUPPORTED_RUNTIME)
  t.equal(error?.message, 'Node.js 18.20.4 is not supported: graceful needs Node.js 20.3 or later (AbortSignal.any(), server.closeIdleConnections())')
  t.match(unsupportedRuntime({ name: 'node', version: '20.2.0' })?.message, /^Node\.js 20\.2\.0 is not supported/)
  for (const version of ['20.3.0', '21.0.0', '22.23.5', '26.12.1']) t.equal(unsupportedRuntime({ name: 'node', version }), undefined, `Node.js ${version} runs`)
  t.equal(unsupportedRuntime({ name: 'bun', version: '1.4.5' }), undefined, 'Bun runs, with a warning')
})

t.test('Bun and Deno get one warning each naming the runtime and the reset; Node none', async (t) => {
  const [bun] = runtimeWarnings({ name: 'bun', version: '1.4.5' })
  t.match(bun, /^Bun 1\.4\.5: .*server\._handle.*ECONNRESET/)
  const [deno] = runtimeWarnings({ name: 'deno', version: '2.9.6' })
  t.match(deno, /^Deno 2\.9\.6: .*ECONNRESET/)
  t.same(runtimeWarnings({ name: 'node', version: '26.12.1' }), [])
})

t.test('createGraceful() on this Node logs no runtime warning', async (t) => {
  const warnings: string[] = []
  createGraceful({ signals: [], logger: { info () {}, error () {}, warn (_fields: unknown, message: string) { warnings.push(message) } } as never })
  t.same(warnings, [])
})
