/**
 * app.graceful and the plugin options are typed: fixtures/typed-usage.ts compiles under strict tsc,
 * and its @ts-expect-error lines (misuse) are all needed.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

t.test('app.graceful is typed: a strict type-level usage compiles and misuse is rejected', async (t) => {
  const require = createRequire(import.meta.url)
  const tsc = require.resolve('typescript/bin/tsc')
  const fixture = fileURLToPath(new URL('./fixtures/typed-usage.ts', import.meta.url))
  const result = spawnSync(process.execPath, [
    tsc, '--noEmit', '--strict', '--exactOptionalPropertyTypes', '--noUncheckedIndexedAccess',
    '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
    '--skipLibCheck', '--types', 'node', fixture
  ], { encoding: 'utf8', timeout: 60_000 })
  t.equal(result.error, undefined, 'tsc ran')
  t.equal(result.stdout + result.stderr, '', 'no type errors')
  t.equal(result.status, 0, 'tsc exit code')
})
