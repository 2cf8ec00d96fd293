// Per-request latency for the rolling update. The load client (load.mjs) logs every request into
// typed arrays (when it was sent, how long it took, its outcome, path, route and pod): one store per
// array, no object per request and no work beyond that while the load runs, so the log never
// competes with the requests it measures. Percentiles are computed after the load stopped.
// A request belongs to the window it was SENT in: one sent just before SIGTERM that waits through
// the shutdown is steady state's, one sent during pre-stop is the rollout's however long it took.

const FLAG_SLOW = 1
const FLAG_DIRECT = 2

/** The latency log of one load run; `kinds` are the outcome names (their index is what is stored). */
export function createLatencyLog (kinds, initial = 1 << 15) {
  let sentAt = new Float64Array(initial)
  let ms = new Float32Array(initial)
  let code = new Uint8Array(initial)
  let pod = new Uint8Array(initial)
  const kindIndex = Object.fromEntries(kinds.map((k, i) => [k, i]))
  const pods = [] // pod names, by the index stored in `pod`
  let n = 0
  const grow = () => {
    const bigger = (Type, old) => { const a = new Type(old.length * 2); a.set(old); return a }
    sentAt = bigger(Float64Array, sentAt)
    ms = bigger(Float32Array, ms)
    code = bigger(Uint8Array, code)
    pod = bigger(Uint8Array, pod)
  }
  return {
    add (at, took, kind, via, slow, podName) {
      if (n === sentAt.length) grow()
      let p = pods.indexOf(podName ?? '?')
      if (p < 0) p = pods.push(podName ?? '?') - 1
      sentAt[n] = at
      ms[n] = took
      code[n] = (kindIndex[kind] << 2) | (slow ? FLAG_SLOW : 0) | (via === 'direct' ? FLAG_DIRECT : 0)
      pod[n] = p
      n++
    },
    get length () { return n },
    /** What the windows are computed from; arrays trimmed to the requests logged. */
    snapshot () {
      return { kinds, pods: [...pods], sentAt: sentAt.slice(0, n), ms: ms.slice(0, n), code: code.slice(0, n), pod: pod.slice(0, n) }
    }
  }
}

/**
 * Connections a pool opened (the undici connector's callback: TCP, and TLS when the origin is
 * https): when, to which pod, from which side (lb or direct), how long the connect took and whether
 * the TLS session was resumed. A handful per second while the load is steady: one object each.
 */
export function createConnectionLog () {
  const list = []
  return {
    list,
    add (podName, via, at, ms, tls, resumed) { list.push({ pod: podName, via, at, ms, tls, resumed }) }
  }
}

/** Nearest-rank percentile of an ascending typed array. */
const pick = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] : null)
const r1 = (x) => (x === null ? null : Math.round(x * 10) / 10)

/**
 * The latencies (ms, ascending) of the successful fast requests (GET /fast) sent in [from, to).
 * Slow requests (1–2 s by design) and failed ones are left out: failures are counted beside, and a
 * refused connect (a few ms) would only lower the percentiles.
 */
export function windowSamples (snap, from, to, { via, pod } = {}) {
  const okCode = snap.kinds.indexOf('ok')
  const podIndex = pod === undefined ? -1 : snap.pods.indexOf(pod)
  const picked = []
  for (let i = 0; i < snap.sentAt.length; i++) {
    const t = snap.sentAt[i]
    if (t < from || t >= to) continue
    const c = snap.code[i]
    if (c >> 2 !== okCode || c & FLAG_SLOW) continue
    if (via !== undefined && ((c & FLAG_DIRECT) !== 0) !== (via === 'direct')) continue
    if (pod !== undefined && snap.pod[i] !== podIndex) continue
    picked.push(snap.ms[i])
  }
  return Float64Array.from(picked).sort()
}

const statsOf = (sorted) => ({ n: sorted.length, p50: r1(pick(sorted, 0.5)), p99: r1(pick(sorted, 0.99)), max: r1(pick(sorted, 1)) })
const ratioOf = (steady, rollout) => (steady.p99 && rollout.p99 ? Math.round((rollout.p99 / steady.p99) * 100) / 100 : null)

/** p50, p99 and max (ms) of the successful fast requests sent in [from, to) (see windowSamples). */
export function windowStats (snap, from, to, filter) {
  return statsOf(windowSamples(snap, from, to, filter))
}

/**
 * Several rollouts of one row, pooled: each window's fast requests of every rollout together, so
 * the p99 is one of a hundred-odd slowest requests rather than of a few dozen. `runs`: rollingRun()
 * results with their `samples` ({ steady, rollout }, ascending).
 */
export function pooledLatency (runs) {
  const pool = (window) => statsOf(Float64Array.from(runs.flatMap((run) => Array.from(run.samples[window] ?? []))).sort())
  const steady = pool('steady')
  const rollout = pool('rollout')
  const control = pool('control')
  return {
    rollouts: runs.length,
    steady,
    rollout,
    p99Ratio: ratioOf(steady, rollout),
    // Where the rollout's tail is: the requests the old pod served, and those the new pod served.
    p99RatioByPod: { old: ratioOf(steady, pool('rolloutOldPod')), new: ratioOf(steady, pool('rolloutNewPod')) },
    ratios: runs.map((run) => run.latency.p99Ratio),
    ...(control.n ? { control, controlRatio: ratioOf(steady, control), controlRatios: runs.map((run) => run.latency.controlRatio ?? null) } : {}),
    failed: runs.reduce((n, run) => n + run.failed, 0)
  }
}

/** The figures a row is judged by: pooled over its rollouts when it has several, else its one rollout's. */
export function judgedLatency (r) {
  return r.latency?.pooled ?? r.latency
}

function connectionStats (conns, from, to) {
  const inWindow = conns.filter((c) => c.at >= from && c.at < to)
  const byPod = {}
  for (const c of inWindow) byPod[c.pod] = (byPod[c.pod] ?? 0) + 1
  const ms = Float64Array.from(inWindow.map((c) => c.ms)).sort()
  return {
    count: inWindow.length,
    perSecond: r1(inWindow.length / ((to - from) / 1000)),
    byPod,
    resumed: inWindow.filter((c) => c.resumed).length,
    connectMsP50: r1(pick(ms, 0.5)),
    connectMsP99: r1(pick(ms, 0.99))
  }
}

/**
 * Per bucket (by send time, from `fromMs` after the origin to `toMs`): p50, p99 and max of the
 * successful fast requests, their count, and the connections the pools opened. The chart's data.
 */
export function latencySeries (snap, conns, { origin, fromMs, toMs, bucketMs = 250 }) {
  const buckets = Math.max(0, Math.ceil((toMs - fromMs) / bucketMs))
  const out = { bucketMs, fromMs, n: [], p50: [], p99: [], max: [], connects: [] }
  for (let b = 0; b < buckets; b++) {
    const from = origin + fromMs + b * bucketMs
    const s = windowStats(snap, from, from + bucketMs)
    out.n.push(s.n)
    out.p50.push(s.p50 ?? 0)
    out.p99.push(s.p99 ?? 0)
    out.max.push(s.max ?? 0)
    out.connects.push(conns.filter((c) => c.at >= from && c.at < from + bucketMs).length)
  }
  return out
}

/**
 * The latency of one rolling run. `steady`: [from, to) of the old pod serving alone; `control`
 * (optional): the old pod still alone, right after, for about as long as a rollout lasts; `surge`
 * (optional): both pods serving, before SIGTERM; `rollout`: SIGTERM to the old pod's exit
 * (performance clock). Per window: all fast requests, then split by route (LB, direct) and by pod;
 * the connections opened; and the ratio the goal is stated in (p99 rollout ÷ steady), beside the
 * same ratio of the control (p99 control ÷ steady): what the measure reads when nothing happens.
 */
export function latencyResults (snap, conns, { steady, control = /** @type {number[] | undefined} */ (undefined), surge = /** @type {number[] | undefined} */ (undefined), rollout, origin, tailMs = 1500 }) {
  const windowOf = ([from, to]) => ({
    fromMs: Math.round(from - origin),
    toMs: Math.round(to - origin),
    ...windowStats(snap, from, to),
    lb: windowStats(snap, from, to, { via: 'proxy' }),
    direct: windowStats(snap, from, to, { via: 'direct' }),
    byPod: Object.fromEntries(snap.pods.filter((p) => p !== '?').map((p) => [p, windowStats(snap, from, to, { pod: p })])),
    connections: connectionStats(conns, from, to)
  })
  const s = windowOf(steady)
  const r = windowOf(rollout)
  const c = control ? windowOf(control) : undefined
  const series = latencySeries(snap, conns, { origin, fromMs: -2000, toMs: rollout[1] - origin + tailMs })
  return { steady: s, ...(c ? { control: c, controlRatio: ratioOf(s, c) } : {}), ...(surge ? { surge: windowOf(surge) } : {}), rollout: r, p99Ratio: ratioOf(s, r), series }
}

// The table (console and BENCHMARKS.md). The goal: p99 during the rollout ≤ 1.2 × steady p99, and
// p50 during the rollout no higher than terminus's (same protocol), with 0 failed.
export const P99_GOAL = 1.2
export const latencyHeaders = ['variant', 'rollouts', 'fast ok: steady / rollout', 'p50 steady ms', 'p99 steady ms', 'max steady ms', 'p99 both pods ms',
  'p50 rollout ms', 'p99 rollout ms', 'max rollout ms', 'p99 rollout ÷ steady', 'each rollout\'s ratio', 'the same, requests to the old pod / the new pod', 'no rollout: p99 control ÷ steady (each)',
  'new connections: steady / rollout (per s)', 'failed']

/** The p99 ratios of the rollout's requests to the old pod and to the new: pooled, or else the one rollout's. */
const ratiosByPod = (j) => j.p99RatioByPod ?? { old: ratioOf(j.steady, j.rollout.byPod?.v1 ?? {}), new: ratioOf(j.steady, j.rollout.byPod?.v2 ?? {}) }

/** A row of the table: pooled over the row's rollouts when it has several; "both pods" and the connections are the first rollout's. */
export function latencyRow (r) {
  const l = r.latency
  if (r.error || !l) return [r.variant, r.error ? 'error: ' + r.error.split('\n')[0].slice(0, 80) : 'not measured']
  const j = judgedLatency(r)
  const perS = (w) => `${w.connections.count} (${w.connections.perSecond})`
  const ratio = (x) => (x === null ? '—' : x.toFixed(2))
  const control = j.controlRatio === undefined ? '—' : `${ratio(j.controlRatio)}${j.controlRatios ? ` (${j.controlRatios.map(ratio).join(', ')})` : ''}`
  const byPod = ratiosByPod(j)
  return [r.variant, l.pooled?.rollouts ?? 1, `${j.steady.n} / ${j.rollout.n}`, j.steady.p50, j.steady.p99, j.steady.max, l.surge?.p99 ?? '—', j.rollout.p50, j.rollout.p99, j.rollout.max,
    ratio(j.p99Ratio), l.pooled ? l.pooled.ratios.map(ratio).join(', ') : '—', `${ratio(byPod.old)} / ${ratio(byPod.new)}`, control, `${perS(l.steady)} / ${perS(l.rollout)}`, l.pooled?.failed ?? r.failed]
}

/** The rows that meet the goal, by name, against the terminus row of the same list (one protocol). */
export function meetsGoal (rows, terminusName) {
  const terminus = rows.find((r) => r.variant === terminusName && r.latency)
  return rows.filter((r) => r.latency).map((r) => {
    const j = judgedLatency(r)
    return {
      variant: r.variant,
      p99: j.p99Ratio !== null && j.p99Ratio <= P99_GOAL,
      p50: terminus ? j.rollout.p50 <= judgedLatency(terminus).rollout.p50 : null,
      failed: (r.latency.pooled?.failed ?? r.failed) === 0
    }
  })
}

// What the machine was doing in each window: the runner's event-loop utilization (it runs the LB
// and every client: a TLS handshake's CPU on the client side lands here) and each pod's CPU.
/** A moment's counters: the runner's ELU and each pod's CPU time (pod.mjs `cpu`; null once exited). */
export async function loadMark (pods) {
  const mark = { at: performance.now(), elu: performance.eventLoopUtilization(), cpuMs: {} }
  await Promise.all(Object.entries(pods).map(async ([name, pod]) => {
    mark.cpuMs[name] = null
    if (!pod || pod.exit) return
    pod.send('cpu')
    const c = await pod.next('cpu', 1000).catch(() => null)
    if (c) mark.cpuMs[name] = (c.user + c.system) / 1000
  }))
  return mark
}

/** Between two marks: the runner's ELU and each pod's CPU as % of one core (pods alive at both). */
export function loadBetween (a, b) {
  const ms = b.at - a.at
  const cpuPct = {}
  for (const name of Object.keys(a.cpuMs)) {
    if (a.cpuMs[name] !== null && b.cpuMs[name] != null) cpuPct[name] = Math.round((100 * (b.cpuMs[name] - a.cpuMs[name])) / ms)
  }
  return { ms: Math.round(ms), runnerElu: Math.round(100 * performance.eventLoopUtilization(b.elu, a.elu).utilization) / 100, cpuPct }
}
