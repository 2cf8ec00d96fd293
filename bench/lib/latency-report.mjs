// The rolling update's latency in BENCHMARKS.md (the `bench:rolling-latency` block, rendered by
// bench/report.mjs from bench/results/rolling.json): the method as configured, the table, whether
// each row meets the goal, and what the old pod's connections did, which explains the TLS rows.
import { markdown } from './table.mjs'
import { latencyHeaders, latencyRow, meetsGoal, P99_GOAL } from './latency.mjs'

const TERMINUS = '@godaddy/terminus'
const pct = (x) => (x === undefined || x === null ? '—' : `${x} %`)

/** The protocols measured, each with its rows in the table's order. */
function protocols (results, inOrder) {
  return [['plain HTTP', inOrder(results.main ?? []), TERMINUS], ['TLS', inOrder(results.tls ?? []), `${TERMINUS}, TLS`]]
    .filter(([, rows]) => rows.some((r) => r.latency))
}

function goalLine ([protocol, rows, terminus]) {
  const checks = meetsGoal(rows, terminus)
  const ours = checks.filter((c) => /graceful/.test(c.variant) && !/delay 1 s/.test(c.variant))
  const verdict = (c) => [c.p99 ? null : 'p99 ratio above the goal', c.p50 === false ? 'p50 above terminus\'s' : null, c.failed ? null : 'failed requests']
    .filter(Boolean).join(', ') || 'met'
  return `- ${protocol}: ${ours.map((c) => `${c.variant} ${verdict(c)}`).join('; ')}.`
}

const connectionHeaders = ['variant', 'old pod\'s connections at SIGTERM (LB + direct)', 'connections opened to the old pod, SIGTERM → exit',
  'its fast requests then', 'connect ms p50 / p99', 'TLS sessions resumed', 'runner event loop busy: steady → first 1.5 s', 'old pod CPU: steady → first 1.5 s']

function connectionRow (r) {
  const l = r.latency
  const c = l.rollout.connections
  const open = r.v1OpenAtSigterm
  return [r.variant, open ? `${open.lb} + ${open.direct}` : '—', c.byPod.v1 ?? 0, l.rollout.byPod.v1?.n ?? 0,
    c.count ? `${c.connectMsP50} / ${c.connectMsP99}` : '—', c.count && r.variant.endsWith('TLS') ? `${c.resumed} of ${c.count}` : '—',
    r.cpu ? `${pct(Math.round(r.cpu.steady.runnerElu * 100))} → ${pct(Math.round(r.cpu.rolloutStart.runnerElu * 100))}` : '—',
    r.cpu ? `${pct(r.cpu.steady.cpuPct.v1)} → ${pct(r.cpu.rolloutStart.cpuPct.v1)}` : '—']
}

export function latencyBlock (run, inOrder) {
  if (!run) return '_not run yet_'
  const results = run.results
  const list = protocols(results, inOrder)
  if (!list.length) return '_not measured yet: the next rolling run records latency_'
  const c = results.config
  const loads = [`full run ${run.loadavg1m.before.toFixed(1)} → ${run.loadavg1m.after.toFixed(1)}`,
    ...(run.updates ?? []).filter((u) => u.loadavg1m).map((u) => `\`--variant ${u.variant}\` ${u.loadavg1m.before.toFixed(1)} → ${u.loadavg1m.after.toFixed(1)}`)]
  const rows = list.flatMap(([, r]) => r)
  return [
    `Steady state: the old pod serving alone for ${c.steadyMs / 1000} s after a ${c.warmupMs / 1000} s warm-up, before the new pod starts: a one-replica service as it runs before and after a rollout. ` +
      (c.controlMs ? `Control: the old pod still alone for the next ${c.controlMs / 1000} s, about as long as a rollout lasts, with no rollout; its p99 ÷ steady p99 is what the ratio reads when nothing happens. ` : '') +
      `Then the new pod starts; both pods serve for ${c.surgeMs / 1000} s (the surge; its p99 in "p99 both pods", where each pod has half the load). Rollout: SIGTERM → the old pod's exit. ` +
      `The rows the goal compares are rolled out ${c.rollouts} times and their windows pooled ("rollouts"; each rollout's own ratio beside, then the ratio of the rollout's requests that the old pod served and of those the new pod served, against the same steady p99); "p99 both pods" and the connections are the first rollout's. ` +
      'Each request belongs to the window it was sent in; its latency runs from the send to the end of the response body, LB and direct requests together. ' +
      'Percentiles (nearest rank) of the fast requests (`GET /fast`) that succeeded; the failed ones are in the last column. ' +
      `Goal: p99 rollout ≤ ${P99_GOAL} × steady p99, p50 rollout no higher than terminus's (same protocol), 0 failed. ` +
      `Load average (1 min) before → after: ${loads.join(', ')}, on ${run.machine.cpus} CPUs (the runner, both pods and other work share them).`,
    '',
    markdown(latencyHeaders, rows.map(latencyRow)),
    '',
    'Against the goal (graceful rows):',
    '',
    ...list.map(goalLine),
    '',
    'What the old pod\'s connections did (SIGTERM → exit; "first 1.5 s": SIGTERM + 1.5 s, inside the 2 s pre-stops; CPU in % of one core):',
    '',
    markdown(connectionHeaders, rows.filter((r) => r.latency).map(connectionRow)),
    '',
    '![Latency per 250 ms through the rollout, plain HTTP and TLS, with the connections opened per 250 ms](bench/charts/rolling-latency.svg)'
  ].join('\n')
}
