// Runs the pm2 CLI against a private daemon: PM2_HOME is a fresh temp folder, so no global PM2 (or
// another test's) is touched, and kill() stops the daemon and its apps. Callers must call kill()
// whatever happens (a test's teardown, a finally).
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The pm2 CLI installed next to `from` (a file URL or path), or undefined when pm2 is not installed. */
export function pm2Bin (from = import.meta.url) {
  try {
    return createRequire(from).resolve('pm2/bin/pm2')
  } catch {
    return undefined
  }
}

export function pm2Version (bin) {
  try {
    return JSON.parse(readFileSync(join(bin, '..', '..', 'package.json'), 'utf8')).version
  } catch {
    return undefined
  }
}

/** A private PM2: `run(args, { cwd, env })` resolves with stdout (rejects on a non-zero exit), `logs()` reads the apps' output files. */
export function privatePm2 (bin = pm2Bin()) {
  if (!bin) throw new Error('pm2 is not installed (it is a devDependency of bench/ and test/: pnpm install)')
  const home = mkdtempSync(join(tmpdir(), 'graceful-pm2-'))
  // A test runner's hooks (tap puts its loader in NODE_OPTIONS) do not belong in a detached daemon and its apps.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('TAP')))
  const env = { ...inherited, PM2_HOME: home, PM2_DISCRETE_MODE: 'true' }
  const run = (args, { cwd = process.cwd(), extraEnv = {}, timeoutMs = 120_000 } = {}) => new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args], { cwd, env: { ...env, ...extraEnv }, timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`pm2 ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`))
      else resolve(stdout)
    })
  })
  return {
    home,
    run,
    /** Every line the apps wrote to stdout (PM2's per-instance log files), in no particular order. */
    logs () {
      const dir = join(home, 'logs')
      if (!existsSync(dir)) return []
      return readdirSync(dir).filter((f) => f.includes('-out')).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    },
    /** Stops the daemon and every app it runs, then removes PM2_HOME. Never throws. */
    async kill () {
      await run(['kill'], { timeoutMs: 60_000 }).catch(() => {})
      rmSync(home, { recursive: true, force: true })
    }
  }
}
