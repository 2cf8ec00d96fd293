import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { request } from 'undici'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')

/** The first ```lang block after a heading (`## fastify`, `### NestJS`) of a Markdown file of the repository. */
function codeBlock (file: string, heading: string, lang: string): string {
  const markdown = readFileSync(join(root, file), 'utf8')
  const start = markdown.indexOf(`${heading}\n`)
  if (start === -1) throw new Error(`no '${heading}' in ${file}`)
  const match = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(markdown.slice(start))
  if (!match?.[1]) throw new Error(`no ${lang} block under '${heading}' in ${file}`)
  return match[1]
}

function readmeExample (heading: string): string {
  return codeBlock('README.md', `## ${heading}`, 'js')
}

t.test('the README fastify example serves through pre-stop, drains and exits 0 on SIGTERM', async (t) => {
  // Written inside test/ so 'fastify' and 'fastify-graceful' resolve from this package.
  const dir = mkdtempSync(join(here, '.tmp-readme-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'fastify-example.mjs')
  writeFileSync(file, readmeExample('fastify'))

  const child = spawn(process.execPath, [file], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', PRESTOP_DELAY_MS: '3000', GRACE_PERIOD_MS: '5000' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in:\n${output}`)), 15_000)
    child.stdout.on('data', () => {
      const match = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)
      if (match) { clearTimeout(timer); resolve(Number(match[1])) }
    })
  })
  const base = `http://127.0.0.1:${port}`
  t.equal((await request(`${base}/ready`)).statusCode, 200, 'ready before the signal')

  const slow = request(`${base}/slow`)
  await new Promise((resolve) => setTimeout(resolve, 100))
  child.kill('SIGTERM')
  // Pre-stop (3 s) begins when the coordinator says so; the probes below go right after.
  for (let i = 0; i < 1000 && !output.includes('shutdown started'); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  const ready = await request(`${base}/ready`)
  t.equal(ready.statusCode, 503, '/ready answers 503 during pre-stop')
  t.same(await ready.body.json(), { status: 'draining', ready: false })
  const health = await request(`${base}/health`)
  t.equal(health.statusCode, 200, '/health stays 200')
  await health.body.dump()

  const slowResponse = await slow
  t.equal(slowResponse.statusCode, 200, 'the in-flight request completes')
  t.equal(slowResponse.headers.connection, 'close', 'and announces Connection: close')
  t.same(await slowResponse.body.json(), { done: true })

  t.equal(await exited, 0, 'exits 0')
  t.match(output, /counters saved/, 'the persist hook ran')
  const reportLine = output.split('\n').filter((line) => line.includes('"report"')).pop()
  t.ok(reportLine, 'the report is logged')
  const { report } = JSON.parse(reportLine ?? '{}')
  t.equal(report.exitCode, 0)
  t.equal(report.reason, 'SIGTERM')
  t.same(report.hooks.map((h: { name: string, outcome: string }) => [h.name, h.outcome]), [['counters', 'ok'], ['fastify', 'ok']])
})

t.test('the NestJS examples compile in a CommonJS Nest project (module commonjs, decorators with metadata), on Nest 11 and 12', async (t) => {
  const examples = [
    { name: 'readme-nestjs.ts', code: codeBlock('README.md', '### NestJS', 'ts') },
    { name: 'package-readme.ts', code: codeBlock('packages/nestjs-graceful/README.md', '## Example', 'ts') }
  ]
  // What a `nest new` project's tsconfig.json sets for modules and decorators, plus strict.
  const compilerOptions = {
    module: 'commonjs', target: 'ES2021', experimentalDecorators: true, emitDecoratorMetadata: true,
    strict: true, skipLibCheck: true, noEmit: true, types: ['node']
  }
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  // Written inside the folder whose node_modules hold that Nest major and nestjs-graceful.
  for (const [major, folder] of [[11, here], [12, join(here, 'nest12')]] as const) {
    const dir = mkdtempSync(join(folder, '.tmp-readme-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    for (const { name, code } of examples) writeFileSync(join(dir, name), code)
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: examples.map((e) => e.name) }))
    const output = await promisify(execFile)(process.execPath, [tsc, '-p', dir], { timeout: 60_000 }).then(
      () => '', (error: { stdout?: string, message: string }) => error.stdout || error.message)
    t.equal(output, '', `tsc reports no error with Nest ${major}`)
  }
})
