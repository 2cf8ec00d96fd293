// The runtime packages (every non-private package under packages/) and how to pack them the way
// they are published. Used by lint-packages.mjs and by the pack-and-install test.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('..', import.meta.url))

/** @returns {{ dir: string, manifest: Record<string, any> }[]} */
export function runtimePackages () {
  const packagesDir = join(root, 'packages')
  return readdirSync(packagesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const dir = join(packagesDir, entry.name)
      try {
        return { dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }
      } catch {
        return undefined
      }
    })
    .filter((pkg) => pkg !== undefined && pkg.manifest.private !== true)
    .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name))
}

/** The pnpm the workspace pins ("packageManager"), through npx so that no global install is needed. */
export function pnpm (args, options = {}) {
  const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  return execFileSync('npx', ['--yes', packageManager, ...args], { cwd: root, encoding: 'utf8', ...options })
}

/**
 * Packs the runtime packages into `destination` with pnpm, which rewrites `workspace:*` to the
 * real version (npm pack would keep it and npm install would refuse the tarball). Expects a build.
 * @returns {Map<string, { tarball: string, files: string[] }>} by package name: the tarball and the paths in it
 */
export function packRuntimePackages (destination, packages = runtimePackages()) {
  for (const { dir, manifest } of packages) {
    if (!readdirSync(dir).includes('dist')) throw new Error(`${manifest.name} has no dist/: run the build first`)
  }
  const filters = packages.flatMap(({ manifest }) => ['--filter', manifest.name])
  const output = pnpm(['--recursive', ...filters, 'pack', '--pack-destination', destination, '--json'], { timeout: 60_000 })
  const packed = [JSON.parse(output)].flat()
  return new Map(packed.map((entry) => [entry.name, { tarball: entry.filename, files: entry.files.map((file) => file.path) }]))
}
