// The verdict of a --quick run: each section's figures against the committed full run's.
// A section names the figures it stands by in a `metrics(results)` export: an array of
// { name, value, better: 'higher' | 'lower', noise }, where `noise` is the tolerance that the same
// results measured (the spread of its rounds, or a count tolerance its history justifies). A figure
// is a REGRESSION when it moved the worse way by more than the larger noise of the two runs: a quick
// run has fewer rounds (often one, so no spread of its own), and a busy machine widens the spread
// of the run made on it.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { table } from './table.mjs'

const inDir = (dir, file) => (dir instanceof URL ? new URL(file, dir) : join(dir, file))

/** The `results` of a results file; null when there is no file. Throws on a file that is not one. */
function readResults (file) {
  let text
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if (err.code === 'ENOENT') return null
    throw err
  }
  const record = JSON.parse(text)
  if (!record || typeof record !== 'object' || !('results' in record)) throw new Error('not a results file (no `results`)')
  return record.results
}

/**
 * The figures a section's metrics() finds in one results object, by name. An entry without a finite
 * value (a row that failed to run, say) is left out: it shows as 'missing' or 'new', not as a number.
 * Throws when the shape is one metrics() does not know (it threw, or returned no array).
 */
function metricsOf (metrics, results) {
  const list = metrics(results)
  if (!Array.isArray(list)) throw new Error('metrics() returned no array')
  const byName = new Map()
  for (const m of list) {
    if (!m || typeof m.name !== 'string' || !Number.isFinite(m.value)) continue
    byName.set(m.name, { value: m.value, better: m.better === 'higher' ? 'higher' : 'lower', noise: Number.isFinite(m.noise) ? Math.abs(m.noise) : 0 })
  }
  return byName
}

function flagOf (was, now) {
  const noise = Math.max(was.noise, now.noise)
  // How far the figure moved the worse way (negative: the better way).
  const worse = (now.value - was.value) * (now.better === 'higher' ? -1 : 1)
  return { noise, flag: worse > noise ? 'REGRESSION' : -worse > noise ? 'better' : 'ok' }
}

/**
 * Compares bench/results/<section>.quick.json (in quickDir) with <section>.json (in committedDir)
 * for every section in `sections` ({ name: section module }). Returns one row per figure:
 * { section, name, committed, now, noise, flag: 'ok' | 'better' | 'REGRESSION' | 'new' | 'missing' };
 * the sections that could not be judged are listed in the array's `skipped` ([{ section, reason }]).
 * Never throws for a section: whatever goes wrong with one is a reason to skip it.
 */
export function verdict ({ sections, committedDir, quickDir = committedDir }) {
  const rows = []
  const skipped = []
  for (const [section, mod] of Object.entries(sections)) {
    if (typeof mod?.metrics !== 'function') {
      skipped.push({ section, reason: 'its module exports no metrics()' })
      continue
    }
    let quick, committed
    try {
      const results = readResults(inDir(quickDir, `${section}.quick.json`))
      if (results === null) {
        skipped.push({ section, reason: 'no quick results' })
        continue
      }
      quick = metricsOf(mod.metrics, results)
    } catch (err) {
      skipped.push({ section, reason: `quick results not understood (${err.message})` })
      continue
    }
    if (!quick.size) {
      // metrics() took the shape but found nothing it knows in it: one line, not a 'missing' per figure.
      skipped.push({ section, reason: 'metrics() found no figures in the quick results' })
      continue
    }
    try {
      // No committed file yet: every figure is new.
      const results = readResults(inDir(committedDir, `${section}.json`))
      committed = results === null ? new Map() : metricsOf(mod.metrics, results)
    } catch (err) {
      skipped.push({ section, reason: `committed results not understood (${err.message})` })
      continue
    }
    for (const [name, now] of quick) {
      const was = committed.get(name)
      if (!was) rows.push({ section, name, committed: null, now: now.value, noise: now.noise, flag: 'new' })
      else rows.push({ section, name, committed: was.value, now: now.value, ...flagOf(was, now) })
    }
    // A figure the quick run did not produce: a row that failed to run, or a --variant run.
    for (const [name, was] of committed) {
      if (!quick.has(name)) rows.push({ section, name, committed: was.value, now: null, noise: was.noise, flag: 'missing' })
    }
  }
  return Object.assign(rows, { skipped })
}

/** A figure as a short number: integers as they are, fractions rounded (2999.5 → 3000, 11.93 → 11.9, 0.1667 → 0.17). */
function fmt (x) {
  if (x === null || x === undefined) return '-'
  if (Number.isInteger(x)) return String(x)
  return String(Number(x.toFixed(Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2)))
}

/**
 * The verdict as text for a terminal: one heading line per section, one line per figure, one line
 * per section skipped and a count. About 40 lines for the whole benchmark.
 */
export function formatVerdict (rows) {
  const lines = []
  for (const section of new Set(rows.map((r) => r.section))) {
    lines.push([section, '', '', '', ''])
    for (const r of rows) if (r.section === section) lines.push(['  ' + r.name, fmt(r.committed), fmt(r.now), '±' + fmt(r.noise), r.flag])
  }
  const out = ['Quick run (now) vs committed results (was); REGRESSION: worse beyond the noise']
  if (lines.length) out.push(table(['figure', 'was', 'now', 'noise', 'verdict'], lines).split('\n').map((l) => l.trimEnd()).join('\n'))
  for (const s of rows.skipped ?? []) out.push(`${s.section}: skipped, ${s.reason}`)
  const counts = {}
  for (const r of rows) counts[r.flag] = (counts[r.flag] ?? 0) + 1
  out.push(`${rows.length} figures: ${Object.entries(counts).map(([flag, n]) => `${n} ${flag}`).join(', ') || 'none'}`)
  return out.join('\n')
}
