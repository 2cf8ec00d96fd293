/**
 * Every ```js and ```ts block of the README, the docs and the packages' READMEs holds as written:
 * no block uses a name it does not define or import (a placeholder such as `queue` that a reader
 * would copy and see crash), and every ```js block runs verbatim with `node` (PORT set to a free
 * port): it exits 0 on its own, or it listens and exits 0 on SIGTERM. The sections with their own tests (fastify, PM2,
 * node:cluster, socket activation, observability) are also checked there for what they promise.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import ts from 'typescript'
import { installRuntimes, runtimeCommand } from '../scripts/runtimes.mjs'
import { freePort } from './helpers/clients.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const testDir = join(root, 'test')
const MARKDOWN = [
  'README.md',
  'BENCHMARKS.md',
  ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
  ...readdirSync(join(root, 'packages')).map((p) => `packages/${p}/README.md`),
  'examples/service/README.md'
]

interface Block { where: string, lang: 'js' | 'ts', code: string }

function blocksOf (file: string): Block[] {
  let text: string
  try {
    text = readFileSync(join(root, file), 'utf8')
  } catch {
    return []
  }
  return [...text.matchAll(/^```(js|ts)\n([\s\S]*?)^```$/gm)].map((m) => ({
    where: `${file}:${text.slice(0, m.index).split('\n').length}`,
    lang: m[1] as 'js' | 'ts',
    code: m[2] ?? ''
  }))
}

const blocks = MARKDOWN.flatMap(blocksOf)
/** Blocks written for Bun's or Deno's own server run on that runtime (scripts/runtimes.mjs); the others on this Node. */
const runtimeOf = (block: Block): 'node' | 'bun' | 'deno' => (/\bBun\./.test(block.code) ? 'bun' : /\bDeno\./.test(block.code) ? 'deno' : 'node')
/** A block that assigns module.exports is CommonJS (PM2's ecosystem file): it runs as .cjs. */
const extensionOf = (block: Block): string => (block.lang === 'ts' ? '.mts' : /\bmodule\.exports\b/.test(block.code) ? '.cjs' : '.mjs')

/** Written inside test/, so the blocks' imports resolve from this package. */
function writeBlocks (t: Test): string[] {
  const dir = mkdtempSync(join(testDir, '.tmp-blocks-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return blocks.map((block, i) => {
    const file = join(dir, `block-${i}${extensionOf(block)}`)
    writeFileSync(file, block.code)
    return file
  })
}

/** TypeScript's "Cannot find name" diagnostics (and "no value in scope" for a shorthand property). */
const UNDEFINED_NAME = new Set([2304, 2552, 2580, 2581, 2582, 2591, 2592, 2593, 18004])

t.test('the docs have code blocks to check', async (t) => {
  t.ok(blocks.filter((b) => b.lang === 'js').length >= 15, `${blocks.length} blocks found`)
})

t.test('no code block uses a name it does not define or import', async (t) => {
  const files = writeBlocks(t)
  // The globals of the runtimes some blocks are written for: defined there, like `process` on Node.
  const runtimeGlobals = join(dirname(files[0]!), 'runtime-globals.d.ts')
  writeFileSync(runtimeGlobals, 'declare const Bun: any\ndeclare const Deno: any\n')
  const program = ts.createProgram([...files, runtimeGlobals], {
    allowJs: true,
    checkJs: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    experimentalDecorators: true,
    skipLibCheck: true,
    types: ['node']
  })
  const undefinedNames = ts.getPreEmitDiagnostics(program)
    .filter((d) => UNDEFINED_NAME.has(d.code) && d.file !== undefined && files.includes(d.file.fileName))
    .map((d) => {
      const block = blocks[files.indexOf(d.file!.fileName)]!
      const line = d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line
      return `${block.where} (+${line + 1}): ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`
    })
  t.same(undefinedNames, [], 'every name a block uses is defined in it or imported')
})


/** Prints the port of every server that starts listening, so the test knows when a block is up. */
const PRELOAD = `import net from 'node:net'
const emit = net.Server.prototype.emit
net.Server.prototype.emit = function (event, ...args) {
  if (event === 'listening') process.stderr.write('[block listening ' + this.address()?.port + ']\\n')
  return emit.call(this, event, ...args)
}
`

interface Outcome { code: number | null, signal: string | null, listened: boolean, output: string }

/** Runs one block: up to 60 s to exit on its own or listen; a listening block gets SIGTERM and 60 s to exit. */
async function runVerbatim (file: string, runtime: 'node' | 'bun' | 'deno', preload: string, child: { current?: ChildProcess }): Promise<Outcome> {
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', KUBERNETES_SERVICE_HOST: '' }
  delete env.NODE_OPTIONS // no test-runner loaders in the block
  // On Bun and Deno the blocks say themselves that they listen ("listening at …").
  const { command, args } = runtime === 'node' ? { command: process.execPath, args: ['--import', preload, file] } : runtimeCommand(runtime, file)
  const proc = spawn(command, args, { cwd: testDir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  child.current = proc
  let output = ''
  proc.stdout.on('data', (chunk: Buffer) => { output += chunk })
  proc.stderr.on('data', (chunk: Buffer) => { output += chunk })
  const exited = new Promise<{ code: number | null, signal: string | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
  // Up once a server listens; a cluster primary, once each of its workers reported ready (a signal
  // that reaches a worker before its coordinator exists ends it like any process without a handler).
  const isUp = (): boolean => {
    const workers = Number(/"workers":(\d+)[^\n]*"msg":"cluster primary started"/.exec(output)?.[1] ?? 0)
    return /\[block listening |^listening at /m.test(output) && output.split('"msg":"ready"').length - 1 >= workers
  }
  const listening = new Promise<void>((resolve) => {
    const look = (): void => { if (isUp()) resolve() }
    proc.stdout.on('data', look)
    proc.stderr.on('data', look)
  })
  const guard = (ms: number): Promise<'timeout'> => new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref())
  const first = await Promise.race([exited, listening.then(() => 'listening' as const), guard(60_000)])
  if (first === 'timeout') return { code: null, signal: 'timeout', listened: false, output }
  if (first !== 'listening') return { ...first, listened: false, output }
  proc.kill('SIGTERM')
  const end = await Promise.race([exited, guard(60_000)])
  if (end === 'timeout') return { code: null, signal: 'timeout', listened: true, output }
  return { ...end, listened: true, output }
}

t.test('every js block runs verbatim: it exits 0, or listens and exits 0 on SIGTERM', async (t) => {
  const files = writeBlocks(t)
  const preload = join(dirname(files[0]!), 'preload.mjs')
  writeFileSync(preload, PRELOAD)
  const children: Array<{ current?: ChildProcess }> = []
  t.teardown(() => { for (const c of children) if (c.current && c.current.exitCode === null && c.current.signalCode === null) c.current.kill('SIGKILL') })
  const runnable = blocks.map((block, i) => ({ block, file: files[i]!, runtime: runtimeOf(block) })).filter(({ block }) => block.lang === 'js')
  const others = [...new Set(runnable.map((r) => r.runtime))].filter((r) => r !== 'node')
  if (others.length > 0) await installRuntimes(others)
  // Four at a time: the machine is shared, and most blocks spend their time in a 5 s pre-stop.
  const outcomes: Outcome[] = []
  let next = 0
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < runnable.length) {
      const i = next++
      const child = {}
      children.push(child)
      outcomes[i] = await runVerbatim(runnable[i]!.file, runnable[i]!.runtime, preload, child)
    }
  }))
  runnable.forEach(({ block }, i) => {
    const outcome = outcomes[i]!
    const tail = outcome.output.split('\n').slice(-12).join('\n')
    t.notMatch(outcome.output, /ReferenceError|is not defined|TypeError/, `${block.where}: no undefined name or type error at run time`)
    t.same({ code: outcome.code, signal: outcome.signal }, { code: 0, signal: null }, `${block.where}: exits 0${outcome.listened ? ' on SIGTERM' : ''}\n${tail}`)
  })
})
