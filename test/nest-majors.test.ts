/**
 * nestjs-graceful against both Nest majors it supports (11: test/package.json, 12: test/nest12):
 * each folder's nestjs-graceful loads that folder's Nest, and Nest's own enableShutdownHooks(),
 * called before or after attachGraceful(), is switched off with a warning on both platforms. The
 * conformance suite runs each major as a real server (conformance/nest*.test.ts).
 */
import { execFile } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'

const run = promisify(execFile)
const majors = [
  { major: 11, folder: new URL('./', import.meta.url), modules: new URL('./fixtures/apps/nest11.mjs', import.meta.url) },
  { major: 12, folder: new URL('./nest12/', import.meta.url), modules: new URL('./nest12/nest12.mjs', import.meta.url) }
]

/** The real folder of a package as resolved from `dir`. */
function packageDir (dir: string, name: string): string {
  return realpathSync(createRequire(`${dir}/package.json`).resolve(`${name}/package.json`)).replace(/\/package\.json$/, '')
}

for (const { major, folder, modules } of majors) {
  t.test(`Nest ${major}`, async (t) => {
    const dir = fileURLToPath(folder)
    const core = packageDir(dir, '@nestjs/core')
    t.equal(createRequire(import.meta.url)(`${core}/package.json`).version.split('.')[0], String(major), `that folder resolves @nestjs/core ${major}`)
    t.equal(packageDir(packageDir(dir, 'nestjs-graceful'), '@nestjs/core'), core, 'and its nestjs-graceful loads that same @nestjs/core')

    const env = { ...process.env }
    delete env.NODE_OPTIONS
    const { stdout } = await run(process.execPath, [fileURLToPath(new URL('./fixtures/nest-shutdown-hooks.mjs', import.meta.url)), fileURLToPath(modules)], { env, timeout: 30_000 })
    const cases = stdout.trim().split('\n').map((line) => JSON.parse(line) as { platform: string, when: string, nestListeners: number, warnings: string[] })
    t.equal(cases.length, 4, 'two platforms, before and after')
    for (const { platform, when, nestListeners, warnings } of cases) {
      t.equal(nestListeners, 0, `${platform}, enableShutdownHooks() ${when} attachGraceful(): no SIGTERM listener of Nest is left`)
      t.match(warnings, [/^app\.enableShutdownHooks\(\) is ignored/], `${platform}, ${when}: one warning says so`)
    }
  })
}
