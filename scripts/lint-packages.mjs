// Checks what npm would publish, package by package: packs each runtime package with pnpm, then
// runs publint (package.json against the files) and @arethetypeswrong/cli (types resolve under
// node10, node16 from CJS and ESM, bundler), and checks the tarball's own contents: README, LICENSE,
// (the root one), CHANGELOG, both builds, source maps whose sources are in the tarball, and no tests.
// Checks every package, then exits 1 if any had a problem. Run after the build: `pnpm lint:packages`.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import { packRuntimePackages, root, runtimePackages } from './packages.mjs'

// The root devDependencies, run with this Node (not through a shell: works the same on Windows).
function binOf (pkg, bin) {
  const dir = join(root, 'node_modules', pkg)
  return join(dir, JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).bin[bin])
}
const checkers = [
  ['publint', binOf('publint', 'publint'), (tarball) => ['run', '--strict', tarball]],
  ['attw', binOf('@arethetypeswrong/cli', 'attw'), (tarball) => [tarball, '--format', 'ascii']]
]

const rootLicense = readFileSync(join(root, 'LICENSE'), 'utf8')
const required = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/esm/index.js', 'dist/esm/index.d.ts',
  'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/package.json']

/** Problems in the file list of one tarball; `dir` is the package folder the files were packed from. */
function contentProblems (dir, files) {
  const problems = required.filter((file) => !files.includes(file)).map((file) => `missing ${file}`)
  // pnpm packs the root LICENSE when a package has none of its own.
  if (existsSync(join(dir, 'LICENSE')) && readFileSync(join(dir, 'LICENSE'), 'utf8') !== rootLicense) problems.push('LICENSE differs from the root LICENSE')
  for (const file of files) {
    if (/(^|\/)(test|tests|__tests__)\/|\.test\.[cm]?[jt]s$/.test(file)) problems.push(`ships a test: ${file}`)
    if (!file.endsWith('.map')) continue
    const map = JSON.parse(readFileSync(join(dir, file), 'utf8'))
    for (const source of map.sources) {
      const target = posix.normalize(posix.join(posix.dirname(file), map.sourceRoot ?? '', source))
      if (!files.includes(target)) problems.push(`${file} points at ${target}, which is not in the tarball`)
    }
  }
  return problems
}

const packages = runtimePackages()
const destination = mkdtempSync(join(tmpdir(), 'graceful-lint-'))
let failed = false
try {
  const packed = packRuntimePackages(destination, packages)
  for (const { dir, manifest } of packages) {
    const { tarball, files } = packed.get(manifest.name)
    console.log(`\n# ${manifest.name}@${manifest.version}: ${files.length} files`)
    const problems = contentProblems(dir, files)
    for (const problem of problems) console.log(`  ${problem}`)
    failed ||= problems.length > 0
    for (const [name, bin, args] of checkers) {
      try {
        execFileSync(process.execPath, [bin, ...args(tarball)], { stdio: 'inherit', timeout: 60_000 })
      } catch {
        console.log(`  ${name} failed for ${manifest.name}`)
        failed = true
      }
    }
  }
} finally {
  rmSync(destination, { recursive: true, force: true })
}
if (failed) {
  console.error('\nlint:packages: problems found (see above)')
  process.exit(1)
}
console.log(`\nlint:packages: ${packages.map(({ manifest }) => manifest.name).join(', ')} are ready to publish`)
