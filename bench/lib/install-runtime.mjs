// Another runtime for a section (scripts/runtimes.mjs installs it into the cache on demand): a
// section that cannot get it says so in a line and skips its rows, instead of failing the run.
import { installRuntimes } from '../../scripts/runtimes.mjs'

/** Installs `runtime`; returns undefined, or why it could not be installed (logged as `${label} skipped: ...`). */
export async function installOrSkip (runtime, log, label) {
  try {
    await installRuntimes([runtime])
    return undefined
  } catch (err) {
    const reason = String(err.message || err).split('\n')[0]
    log(`${label} skipped: it could not be installed (${reason})`)
    return reason
  }
}
