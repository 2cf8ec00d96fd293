// The rolling update's console rows and bookkeeping (bench/sections/rolling.mjs): outcome tables,
// the failures grouped for the report, the exit as a shell would print it, and a variant's run
// turned into an error row instead of ending the section.
import { KINDS, KIND_LABEL } from './load.mjs'

export function exitLabel (exit) {
  if (!exit) return 'running'
  if (exit.code !== null) return String(exit.code)
  const num = { SIGTERM: 143, SIGKILL: 137, SIGINT: 130 }[exit.signal]
  return `${num ?? '?'} (${exit.signal})`
}

export function summarizeFailures (failures, tTerm) {
  const out = {}
  for (const f of failures) {
    const key = `${f.kind} ${f.via} ${f.pod}${f.slow ? ' slow' : ''}${f.detail ? ' [' + f.detail + ']' : ''}`
    const t = Math.round(f.at - tTerm)
    const s = (out[key] ??= { kind: f.kind, via: f.via, pod: f.pod, slow: f.slow, detail: f.detail, count: 0, firstMs: t, lastMs: t })
    s.count++
    s.firstMs = Math.min(s.firstMs, t)
    s.lastMs = Math.max(s.lastMs, t)
  }
  return Object.values(out).sort((a, b) => b.count - a.count)
}

export const rollingHeaders = ['variant', 'LB lag', 'requests', ...KINDS.map((k) => KIND_LABEL[k]), 'exit', 'SIGTERM→exit ms', 'pre-stop ms']
export const rollingRow = (r) => [r.variant, `${r.lagMs / 1000} s`, r.requests, ...KINDS.map((k) => r[k]), r.exitCode, r.sigtermToExitMs,
  r.preStop ? `${r.preStop.durationMs} (${r.preStop.endedBy})` : '']
export const slowStartHeaders = ['variant', 'requests', 'ok', 'failed', 'failed at new pod', 'failed at old pod', 'new pod in rotation ms', 'old pod SIGTERM ms', 'old pod exit']
export const slowStartRow = (r) => r.error
  ? [r.variant, 'error: ' + r.error.split('\n')[0].slice(0, 80)]
  : [r.variant, r.requests, r.ok, r.failed, r.newPod.failed, r.oldPodFailed, r.newPod.inRotationMs, r.newPod.oldPodSigtermMs, r.exitCode]

export async function guarded (fn, v, log) {
  try {
    return await fn()
  } catch (err) {
    log(`  ${v.name} FAILED: ${err.stack || err}`)
    return { variant: v.name, kind: v.kind, lagMs: v.lagMs, error: String(err.message || err) }
  }
}

export function printFailures (r, log) {
  if (!r.failures?.length) return
  log('  failures (kind via pod [detail]: count, first..last ms after SIGTERM):')
  for (const f of r.failures.slice(0, 12)) log(`    ${KIND_LABEL[f.kind]} ${f.via} ${f.pod}${f.slow ? ' slow' : ''}${f.detail ? ' [' + f.detail + ']' : ''}: ${f.count}, ${f.firstMs}..${f.lastMs} ms`)
}
