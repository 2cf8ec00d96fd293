/**
 * graceful-core's public surface: the main entry exports what the README's "Public surface" table
 * lists, nothing more (the door protocol lives in graceful-core/door), and both builds agree.
 */
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import t from 'tap'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const section = readme.slice(readme.indexOf('### Public surface\n'), readme.indexOf('### Several coordinators in one process\n'))
/** The backticked names at the start of each table row, without their call parentheses. */
const listed = section.split('\n').filter((line) => line.startsWith('| `')).flatMap((line) =>
  [...(line.split('|')[1] ?? '').matchAll(/`([A-Za-z_]+)/g)].map((match) => match[1] ?? ''))

t.test('the main entry exports exactly what the README lists', async (t) => {
  t.ok(listed.length > 5, 'the README has the table')
  const esm = Object.keys(await import('graceful-core')).sort()
  t.same(esm, [...listed].sort(), 'ES module entry')
  const cjs = Object.keys(createRequire(import.meta.url)('graceful-core') as object).filter((name) => name !== '__esModule').sort()
  t.same(cjs, esm, 'the CommonJS entry exports the same names')
})

t.test('the door protocol is only in graceful-core/door', async (t) => {
  const main = await import('graceful-core') as Record<string, unknown>
  const door = await import('graceful-core/door') as Record<string, unknown>
  for (const name of ['holdStartup', 'loggerOf', 'middlewareDoor', 'bridgeFrameworkClose']) {
    t.equal(main[name], undefined, `${name} is not in the main entry`)
    t.not(door[name], undefined, `${name} is in graceful-core/door`)
  }
})
