// Clients pinned to a pod by their connection (load.mjs `pinned`: kube-proxy behind a Service
// balances connections, not requests): what the rollout did to them. A pinned client leaves the old
// pod only when its connection closes, so the figures are when they left, whether the LB's
// rotation already sent them to the new pod, and how their reconnects were spread.
import { windowSamples } from './latency.mjs'
import { KIND_LABEL } from './load.mjs'

const BUCKET_MS = 100
/** The reconnects of the clients the old pod's exit closed come just after it. */
const AFTER_EXIT_MS = 1000

/**
 * @param snap    the load's latency log (latency.mjs snapshot)
 * @param conns   the connection log's list ({ pod, via, at })
 * @param times   { sigterm, outOfRotation, exit } (performance clock; outOfRotation undefined when the LB never took it out)
 */
export function pinnedResults (snap, conns, { sigterm, outOfRotation, exit }) {
  const until = exit + AFTER_EXIT_MS
  const direct = conns.filter((c) => c.via === 'direct' && c.at >= sigterm && c.at < until)
  const perBucket = new Map()
  for (const c of direct) {
    const bucket = Math.floor((c.at - sigterm) / BUCKET_MS)
    perBucket.set(bucket, (perBucket.get(bucket) ?? 0) + 1)
  }
  return {
    // Fast requests of the pinned clients the old pod served after the LB had taken it out.
    oldPodAfterOutOfRotation: outOfRotation === undefined ? null : windowSamples(snap, outOfRotation, until, { via: 'direct', pod: 'v1' }).length,
    reconnectsToOldPod: direct.filter((c) => c.pod === 'v1').length,
    reconnectsToNewPod: direct.filter((c) => c.pod === 'v2').length,
    peakReconnectsPer100ms: Math.max(0, ...perBucket.values())
  }
}

// The failed requests and the latency pool every rollout of the row; the rest is the first rollout's.
export const pinnedHeaders = ['variant', 'rollouts', 'failed', 'rollout p50 / p99 ms (p99 ÷ steady)', 'pinned requests the old pod served after the LB took it out',
  'pinned reconnects, SIGTERM → exit + 1 s: to the old pod / to the new pod', 'peak pinned reconnects per 100 ms', 'old pod exit after SIGTERM ms']

export function pinnedRow (r, judged) {
  if (r.error || !r.pinned) return [r.variant, r.error ? 'error: ' + r.error.split('\n')[0].slice(0, 80) : 'not measured']
  const p = r.pinned
  const kinds = Object.entries(r.latency.pooled?.failedByKind ?? {}).map(([kind, n]) => `${KIND_LABEL[kind]} ${n}`).join(', ')
  return [r.variant, r.latency.pooled?.rollouts ?? 1, `${r.latency.pooled?.failed ?? r.failed}${kinds ? ` (${kinds})` : ''}`,
    `${judged.rollout.p50} / ${judged.rollout.p99} (${judged.p99Ratio === null ? '—' : judged.p99Ratio.toFixed(2)})`,
    p.oldPodAfterOutOfRotation ?? '—', `${p.reconnectsToOldPod} / ${p.reconnectsToNewPod}`, p.peakReconnectsPer100ms, r.sigtermToExitMs]
}
