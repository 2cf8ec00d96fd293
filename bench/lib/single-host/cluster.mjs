// clusterPrimary() with two express-graceful workers; SIGHUP reloads. Prints BENCH lines.
import cluster from 'node:cluster'
import { clusterPrimary } from 'graceful-core'

if (cluster.isPrimary) {
  const out = (msg) => process.stdout.write('BENCH ' + JSON.stringify(msg) + '\n')
  const primary = clusterPrimary({ workers: 2, gracePeriodMs: 10000, logger: false })
  let ready = 0
  primary.on('worker-ready', () => { if (++ready === 2) out({ type: 'ready' }) })
  primary.on('reload', (result) => out({ type: 'reload', ...result }))
} else {
  await import('./express-graceful.mjs')
}
