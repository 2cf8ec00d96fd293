/**
 * Runs the code blocks of a README as programs: a block is written into test/ (so its imports
 * resolve from this package), started with `node` (or another runtime: `launch`), and killed in the
 * test's teardown.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

const testDir = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Every ```js block between a heading (any level, exact text) and the next heading of that level or above. */
export function jsBlocks (readmePath: string, heading: string): string[] {
  const readme = readFileSync(readmePath, 'utf8')
  const match = new RegExp(`^(#+) ${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`, 'm').exec(readme)
  if (!match?.[1]) throw new Error(`no heading '${heading}' in ${readmePath}`)
  const rest = readme.slice(match.index + match[0].length)
  const next = new RegExp(`^#{1,${match[1].length}} `, 'm').exec(rest)
  const section = next ? rest.slice(0, next.index) : rest
  return [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')
}

export interface RunningBlock {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
  /** Resolves with the first match of `pattern` in the output (hang guard: 15 s). */
  waitFor: (pattern: RegExp) => Promise<RegExpExecArray>
}

/** How to start a script: `{ command, args }` for spawn (scripts/runtimes.mjs runtimeCommand() has this shape). */
export type Launcher = (file: string) => { command: string, args: string[] }

const onNode: Launcher = (file) => ({ command: process.execPath, args: [file] })

export function runBlock (t: Test, code: string, env: Record<string, string> = {}, launch: Launcher = onNode): RunningBlock {
  const dir = mkdtempSync(join(testDir, '.tmp-readme-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'example.mjs')
  writeFileSync(file, code)
  const childEnv: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_SERVICE_HOST: '', ...env }
  delete childEnv.NODE_OPTIONS // no test-runner loaders in the example
  const { command, args } = launch(file)
  const child = spawn(command, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let output = ''
  const onData = (chunk: Buffer): void => { output += chunk }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    output: () => output,
    exited,
    waitFor: (pattern) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} within 15 s in:\n${output}`)), 15_000)
      const look = (): void => {
        const found = pattern.exec(output)
        if (!found) return
        clearTimeout(timer)
        child.stdout!.off('data', look)
        resolve(found)
      }
      child.stdout!.on('data', look)
      look()
      void exited.then(() => { look(); clearTimeout(timer); if (!pattern.test(output)) reject(new Error(`exited before ${pattern}:\n${output}`)) })
    })
  }
}
