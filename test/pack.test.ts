/**
 * The user's path, not the workspace's: every runtime package is packed the way it is published
 * (pnpm pack), installed with npm into a fresh project next to its framework, then loaded with
 * import and require by a small app each, and type-checked by a TypeScript consumer under four
 * module settings. Needs the build (`pnpm test` builds first) and the npm registry for the
 * frameworks.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
// Plain JavaScript, shared with scripts/lint-packages.mjs.
import { packRuntimePackages, root, runtimePackages } from '../scripts/packages.mjs'
import { doors } from './pack/doors.js'

interface RuntimePackage { dir: string, manifest: { name: string, version: string, repository: { url: string }, peerDependencies?: Record<string, string>, devDependencies?: Record<string, string> } }

const run = promisify(execFile)
const packages = runtimePackages() as RuntimePackage[]
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

/** Frameworks at the versions the packages pin for their peers, their types, and Node's types. */
function registryDependencies (): string[] {
  const specs = new Set([`@types/node@${rootManifest.devDependencies['@types/node']}`])
  for (const { manifest } of packages) {
    const pinned = manifest.devDependencies ?? {}
    for (const [peer, range] of Object.entries(manifest.peerDependencies ?? {})) {
      specs.add(`${peer}@${pinned[peer] ?? range}`)
      const types = `@types/${peer.replace(/^@(.*)\//, '$1__')}`
      if (pinned[types]) specs.add(`${types}@${pinned[types]}`)
    }
    for (const name of doors[manifest.name]?.alsoInstall ?? []) {
      if (!pinned[name]) throw new Error(`${manifest.name}: alsoInstall names ${name}, which its devDependencies do not pin`)
      specs.add(`${name}@${pinned[name]}`)
    }
  }
  return [...specs]
}

/** The environment a user's process would have: without the test runner's loaders, not in Kubernetes. */
function userEnv (): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.KUBERNETES_SERVICE_HOST // keeps the pre-stop window at the configured 0 ms
  return env
}

/** Runs an app until it prints its port; returns the port, its output so far and its exit. */
function startApp (t: { teardown: (fn: () => void) => void }, file: string, cwd: string) {
  const env = userEnv()
  const child = spawn(process.execPath, [file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const port = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 'listening' line within 15 s:\n${output}`)), 15_000)
    const look = () => {
      const match = /^listening (\d+)$/m.exec(output)
      if (match) { clearTimeout(timer); resolve(Number(match[1])) }
    }
    child.stdout.on('data', look)
    void exited.then(() => { clearTimeout(timer); reject(new Error(`exited before listening:\n${output}`)) })
  })
  return { child, port, exited, output: () => output }
}

function get (port: number, path: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode))
    })
    req.once('timeout', () => req.destroy(new Error(`GET ${path} timed out`)))
    req.once('error', reject)
  })
}

t.test('every runtime package has a door in test/pack/doors.ts', async (t) => {
  t.same(packages.map((pkg) => pkg.manifest.name).sort(), Object.keys(doors).sort(), 'one door per runtime package, no door without a package')
})

t.test('packed with pnpm and installed with npm, each package loads, serves and shuts down outside the workspace', async (t) => {
  const project = mkdtempSync(join(tmpdir(), 'graceful-pack-'))
  t.teardown(() => rmSync(project, { recursive: true, force: true }))
  const tarballs = join(project, 'tarballs')
  mkdirSync(tarballs)
  const packed: Map<string, { tarball: string }> = packRuntimePackages(tarballs, packages)

  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error',
    ...[...packed.values()].map(({ tarball }) => tarball), ...registryDependencies()],
  { cwd: project, timeout: 80_000 })

  for (const { manifest } of packages) {
    const installed = JSON.parse(readFileSync(join(project, 'node_modules', manifest.name, 'package.json'), 'utf8'))
    t.equal(`${installed.name}@${installed.version}`, `${manifest.name}@${manifest.version}`, `${manifest.name} is installed from its tarball`)
    t.equal(installed.repository?.url, manifest.repository.url, `${manifest.name} is this project's package, not a namesake from the registry`)
    const nested = readdirSync(join(project, 'node_modules')).filter((dir) => existsSync(join(project, 'node_modules', dir, 'node_modules', manifest.name)))
    t.same(nested, [], `no second copy of ${manifest.name} is installed under another package`)
  }

  for (const { manifest: { name } } of packages) {
    const door = doors[name]
    if (!door) continue // reported by the test above
    for (const [format, source] of [['esm', door.esm], ['cjs', door.cjs]] as const) {
      await t.test(`${name} (${format === 'esm' ? 'import' : 'require'}): /ready answers 200, SIGTERM exits 0 with the report`, async (t) => {
        const file = join(project, `${name}.${format === 'esm' ? 'mjs' : 'cjs'}`)
        writeFileSync(file, source)
        const app = startApp(t, file, project)
        const port = await app.port
        t.equal(await get(port, '/ready'), 200, '/ready answers 200')
        app.child.kill('SIGTERM')
        // The apps' gracePeriodMs is 5 s: a bounded wait turns a hang into a failure, not a tap timeout.
        const code = await Promise.race([app.exited, new Promise((resolve) => setTimeout(resolve, 15_000, 'still running after 15 s')).then(String)])
        t.equal(code, 0, `exits 0; output:\n${app.output()}`)
        t.match(app.output(), /shutdown complete \(SIGTERM\)/, 'logs the report line')
      })
    }
  }

  await t.test('an ESM and a CommonJS copy of graceful-core in one process share one SIGTERM listener', async (t) => {
    const file = join(project, 'both-builds.mjs')
    writeFileSync(file, `import { createRequire } from 'node:module'
import { createGraceful } from 'graceful-core'
const cjs = createRequire(import.meta.url)('graceful-core')
if (cjs.createGraceful === createGraceful) throw new Error('expected two copies')
const before = process.listenerCount('SIGTERM')
createGraceful({ logger: false })
cjs.createGraceful({ logger: false })
console.log('SIGTERM listeners added: ' + (process.listenerCount('SIGTERM') - before))
process.exit(0)
`)
    const { stdout } = await run(process.execPath, [file], { cwd: project, env: userEnv(), timeout: 15_000 })
    t.match(stdout, /^SIGTERM listeners added: 1$/m)
  })

  await t.test('TypeScript consumers resolve the declarations under nodenext, node16 (CommonJS), bundler and node10', async (t) => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    const modes = [
      { name: 'nodenext', ext: 'mts', flags: ['--module', 'nodenext', '--moduleResolution', 'nodenext'] },
      { name: 'node16', ext: 'cts', flags: ['--module', 'node16', '--moduleResolution', 'node16'] },
      { name: 'bundler', ext: 'ts', flags: ['--module', 'esnext', '--moduleResolution', 'bundler'] },
      { name: 'node10', ext: 'ts', flags: ['--module', 'commonjs', '--moduleResolution', 'node10'] }
    ]
    await Promise.all(modes.map(async (mode) => {
      const dir = join(project, `types-${mode.name}`)
      mkdirSync(dir)
      const files = packages.flatMap(({ manifest: { name } }) => {
        const door = doors[name]
        if (!door) return []
        const file = join(dir, `${name}.${mode.ext}`)
        writeFileSync(file, door.types)
        return [file]
      })
      const result = await run(process.execPath, [tsc, '--noEmit', '--strict', '--esModuleInterop', '--skipLibCheck', '--target', 'es2022',
        '--types', 'node', ...mode.flags, ...files], { cwd: project, timeout: 60_000 }).then(
        () => '',
        (error: { stdout?: string, message: string }) => error.stdout || error.message)
      t.equal(result, '', `type-checks under ${mode.name}`)
    }))
  })
})

/** The sh block under '## Installing before publication' in a Markdown file of the repository. */
function installingBeforePublication (file: string): string {
  const markdown = readFileSync(join(root, file), 'utf8')
  const section = markdown.slice(markdown.indexOf('## Installing before publication\n'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1]
  if (block === undefined || !section.startsWith('##')) throw new Error(`no sh block under '## Installing before publication' in ${file}`)
  return block
}

t.test('installing before publication: the documented commands pack graceful-core and a door, npm installs both tarballs, the door loads with import and require', async (t) => {
  const commands = installingBeforePublication('README.md')
  t.equal(installingBeforePublication('docs/releasing.md'), commands, 'the README and docs/releasing.md give the same commands')
  const dir = mkdtempSync(join(tmpdir(), 'graceful-unpublished-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const project = join(dir, 'project')
  mkdirSync(project)
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'your-project', private: true }))
  // As written, with temporary folders for the two paths; the build they start from is pnpm test's.
  t.ok(commands.includes('/tmp/graceful-tarballs') && commands.includes('/path/to/your-project'), 'the commands name the two paths replaced here')
  const script = commands.replaceAll('/tmp/graceful-tarballs', join(dir, 'tarballs')).replaceAll('/path/to/your-project', project)
  await run('sh', ['-e', '-c', script], {
    cwd: root, timeout: 90_000, env: { ...userEnv(), npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' }
  })

  for (const name of ['graceful-core', 'fastify-graceful']) {
    const installed = JSON.parse(readFileSync(join(project, 'node_modules', name, 'package.json'), 'utf8'))
    const own = packages.find((pkg) => pkg.manifest.name === name)?.manifest
    t.equal(`${installed.name}@${installed.version}`, `${own?.name}@${own?.version}`, `${name} is installed from its tarball`)
  }
  const check = (load: string): string => `${load}
const app = Fastify()
app.register(fastifyGraceful, { signals: [], exit: false, logger: false })
app.ready().then(async () => {
  console.log('graceful ' + app.graceful.state)
  await app.close()
})
`
  const files = {
    'import.mjs': check("import Fastify from 'fastify'\nimport fastifyGraceful from 'fastify-graceful'"),
    'require.cjs': check("const Fastify = require('fastify')\nconst fastifyGraceful = require('fastify-graceful')")
  }
  for (const [file, source] of Object.entries(files)) {
    writeFileSync(join(project, file), source)
    const { stdout } = await run(process.execPath, [file], { cwd: project, env: userEnv(), timeout: 15_000 })
    t.match(stdout, /^graceful (starting|running)$/m, `${file}: the plugin registers and decorates app.graceful`)
  }
})
