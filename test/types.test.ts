/**
 * The packages' declarations as TypeScript applications use them, against the built workspace
 * packages (their package.json exports, as published): an ES module (types/esm.mts), a CommonJS
 * module with `import x = require()` (types/cjs.cts), and both in one program, which loads each
 * package's ESM and CommonJS declarations side by side (fastify's app.graceful is declared by both
 * builds of fastify-graceful: TS2717 unless they name one Graceful). Under moduleResolution nodenext
 * and bundler, with TypeScript 5.9 (tsc) and the TypeScript 7 preview (tsgo). Fails with the
 * compiler's output. Needs the build (`pnpm test` builds first).
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'

const run = promisify(execFile)
/** A package's bin script, by its package.json (the package may not export it). */
function bin (pkg: string, name: string): string {
  const manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`)
  return join(dirname(manifest), JSON.parse(readFileSync(manifest, 'utf8')).bin[name])
}
const compilers = [
  { name: 'TypeScript 5.9 (tsc)', bin: bin('typescript', 'tsc'), all: false },
  // Its launcher, not the extensionless bin: the test runner's require hook, which it adds to every
  // node it spawns, would load that file as CommonJS.
  { name: 'TypeScript 7 preview (tsgo)', bin: join(dirname(bin('@typescript/native-preview', 'tsgo')), '..', 'lib', 'tsgo.js'), all: true }
]
const esm = fileURLToPath(new URL('./types/esm.mts', import.meta.url))
const cjs = fileURLToPath(new URL('./types/cjs.cts', import.meta.url))
const nodenext = ['--module', 'nodenext', '--moduleResolution', 'nodenext']
const bundler = ['--module', 'preserve', '--moduleResolution', 'bundler']
// Each alone too: in one program, either build's augmentation would hide the other's missing one.
// The declaration files themselves are checked where both builds meet: TS2717 is reported there.
const programs = [
  { name: 'ESM alone, nodenext', files: [esm], flags: [...nodenext, '--skipLibCheck', 'true'] },
  { name: 'CommonJS alone, nodenext', files: [cjs], flags: [...nodenext, '--skipLibCheck', 'true'] },
  { name: 'ESM and CommonJS in one program, nodenext', files: [esm, cjs], flags: [...nodenext, '--skipLibCheck', 'false'] },
  { name: 'ESM and CommonJS in one program, bundler', files: [esm, cjs], flags: [...bundler, '--skipLibCheck', 'false'] }
]

/** Runs `jobs` two at a time (the machines have two cores). */
async function twoAtATime (jobs: Array<() => Promise<void>>): Promise<void> {
  const queue = [...jobs]
  await Promise.all([0, 1].map(async () => { for (let job = queue.shift(); job; job = queue.shift()) await job() }))
}

t.test('the declarations type-check in ESM, CommonJS and mixed programs', async (t) => {
  // tsc, four times slower, only where both builds meet; tsgo runs every program.
  const jobs = compilers.flatMap((compiler) => programs.filter((p) => compiler.all || p.files.length > 1).map((program) => async () => {
    const output = await run(process.execPath, [compiler.bin, '--noEmit', '--strict', '--target', 'es2022', '--types', 'node',
      ...program.flags, ...program.files], { timeout: 90_000 }).then(
      () => '',
      (error: { stdout?: string, stderr?: string, message: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}` || error.message)
    t.equal(output, '', `${compiler.name}: ${program.name}`)
  }))
  await twoAtATime(jobs)
})
