// Builds the runtime package in the current directory twice from its tsconfig.json:
//   dist/esm  ES modules (the package is "type": "module"), bundled: one file per entry point in
//             "exports" plus one shared chunk. Node 20 handles every HTTP request ~2 % slower once
//             about 15 ES modules are loaded (any 15: measured with callgrind, BENCHMARKS.md §2);
//             a package of 50 modules would cost its users that, 3 files do not.
//   dist/cjs  CommonJS, with a {"type":"commonjs"} package.json so Node and TypeScript read both
//             the .js and the .d.ts files there as CommonJS
// Both get declarations, declaration maps and source maps that point into src/, which is shipped.
// With --shared-declarations, dist/esm/index.d.ts only re-exports the CommonJS declarations instead:
// a program that loads the package both ways (an .mts and a .cts file) then sees one declaration of
// each class, so types that other packages build on it (fastify's app.graceful: Graceful, declared
// by each build of fastify-graceful) are the same type whichever build declared them. Only for a
// package without a default export (an ES module importing CommonJS declarations gets
// module.exports as its default) and whose declarations import no ES-only package.
// Usage, from a package's "build" script: node ../../scripts/build-package.mjs [--shared-declarations]
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { build } from 'esbuild'

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
// Built next to dist/ (same depth, so source-map paths are right) and swapped in at the end:
// dist/ is never half-written or missing while something else loads the package.
const staging = `.dist-${process.pid}`

function tscTo (outDir, ...args) {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--declaration', '--declarationMap', '--sourceMap',
    '--outDir', `${staging}/${outDir}`, ...args], { stdio: 'inherit' })
}

function isRunning (pid) {
  try { return process.kill(pid, 0) } catch (error) { return error.code === 'EPERM' }
}
// Left behind by a build that was killed (a sibling package failed and the runner stopped it).
for (const entry of readdirSync('.')) {
  const pid = /^\.dist-(\d+)$/.exec(entry)?.[1]
  if (pid && !isRunning(Number(pid))) rmSync(entry, { recursive: true, force: true })
}

try {
  tscTo('esm')
  await bundleEsm(`${staging}/esm`)
  // verbatimModuleSyntax forbids ESM syntax in files emitted as CommonJS; this emit rewrites it.
  tscTo('cjs', '--module', 'commonjs', '--moduleResolution', 'node10', '--verbatimModuleSyntax', 'false', '--esModuleInterop')
  writeFileSync(`${staging}/cjs/package.json`, '{ "type": "commonjs" }\n')
  if (process.argv.includes('--shared-declarations')) shareDeclarations(`${staging}/esm`)
  removeEmptyFolders(`${staging}/esm`)
  rmSync('dist', { recursive: true, force: true })
  renameSync(staging, 'dist')
} catch (error) {
  rmSync(staging, { recursive: true, force: true })
  process.exitCode = 1
  if (error.status === undefined) throw error // not a tsc failure (tsc printed its own errors)
}

/** The folders the bundle (and shared declarations) emptied. */
function removeEmptyFolders (dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    const path = `${dir}/${entry.name}`
    removeEmptyFolders(path)
    if (readdirSync(path).length === 0) rmSync(path, { recursive: true })
  }
}

/** The ES entry points of "exports" (index first), as paths under dist/esm without extension. */
function esmEntries () {
  const entries = Object.values(JSON.parse(readFileSync('package.json', 'utf8')).exports ?? {})
    .map((target) => target?.import?.default?.match(/^\.\/dist\/esm\/(.+)\.js$/)?.[1])
    .filter((entry) => entry !== undefined)
  return [...new Set(['index', ...entries])]
}

/**
 * Bundles tsc's ES modules in `esm` into one file per entry point and one chunk they share (so
 * module state, like the process-wide run registry, exists once), keeping the declarations. The
 * source maps chain through tsc's, so they still point into src/. Dependencies stay imports.
 */
async function bundleEsm (esm) {
  const out = `${esm}-bundle`
  await build({
    entryPoints: Object.fromEntries(esmEntries().map((entry) => [entry, resolve(`${esm}/${entry}.js`)])),
    outdir: resolve(out),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    sourcesContent: false,
    chunkNames: 'shared-[hash]',
    logLevel: 'warning',
    // The path comments in the bundle name files from here (esm/...), not the staging folder.
    absWorkingDir: resolve(esm, '..')
  })
  for (const entry of readdirSync(esm, { recursive: true })) {
    if (/\.js(\.map)?$/.test(entry)) rmSync(`${esm}/${entry}`)
  }
  for (const file of readdirSync(out)) renameSync(`${out}/${file}`, `${esm}/${file}`)
  rmSync(out, { recursive: true })
}

/** Replaces the ES build's declarations by ones that re-export the CommonJS ones, for each entry point (index, and every subpath in "exports"). */
function shareDeclarations (esm) {
  if (/^export default /m.test(readFileSync(`${esm}/index.d.ts`, 'utf8'))) throw new Error('--shared-declarations: the package has a default export')
  const entries = Object.values(JSON.parse(readFileSync('package.json', 'utf8')).exports ?? {})
    .map((target) => target?.import?.types?.match(/^\.\/dist\/esm\/(.+)\.d\.ts$/)?.[1])
    .filter((entry) => entry !== undefined)
  for (const entry of readdirSync(esm, { recursive: true })) {
    if (/\.d\.ts(\.map)?$/.test(entry)) rmSync(`${esm}/${entry}`)
  }
  for (const entry of new Set(['index', ...entries])) {
    writeFileSync(`${esm}/${entry}.d.ts`, `// The CommonJS build's declarations: one declaration of each class for both builds.\nexport * from '../cjs/${entry}.js'\n`)
  }
}
