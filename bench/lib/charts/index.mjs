// The benchmark charts, rendered from bench/results/*.json into bench/charts/*.svg (by
// `node bench/report.mjs` and after `pnpm bench`). A chart whose results are missing is skipped.
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { idleExitSpec } from './idle-exit.mjs'
import { overheadSpec } from './overhead.mjs'
import { renderSvg } from './render.mjs'
import { rollingTimelineSpec, timelineRuns } from './rolling-timeline.mjs'
import { latencyPairs, rollingLatencySpec } from './rolling-latency.mjs'
import { wsSpreadSpec } from './ws-spread.mjs'
import { runtimesSpec } from './runtimes.mjs'

export const CHARTS_DIR = new URL('../../charts/', import.meta.url)

/** name → the Vega-Lite spec from the results (null: nothing to draw). `load(section)` reads a results file. */
export function chartSpecs (load, { variantOrder = [] } = {}) {
  return {
    'rolling-timeline': rollingTimelineSpec(timelineRuns(load('rolling')?.results?.main, variantOrder)),
    'rolling-latency': rollingLatencySpec(latencyPairs(load('rolling')?.results, variantOrder)),
    overhead: overheadSpec(load('overhead')),
    'idle-exit': idleExitSpec(load('idle')),
    'ws-spread': wsSpreadSpec(load('ws-spread')),
    runtimes: runtimesSpec(load('runtimes'))
  }
}

/** Renders every chart that has data into `dir`; returns the files written. */
export async function renderCharts (load, { dir = CHARTS_DIR, variantOrder = [] } = {}) {
  mkdirSync(dir, { recursive: true })
  const written = []
  for (const [name, spec] of Object.entries(chartSpecs(load, { variantOrder }))) {
    if (!spec) continue
    const file = new URL(`${name}.svg`, dir)
    writeFileSync(file, await renderSvg(spec) + '\n')
    written.push(fileURLToPath(file))
  }
  return written
}
