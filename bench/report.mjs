// Renders the generated parts of BENCHMARKS.md from bench/results/<section>.json. Text outside
// the `<!-- bench:NAME:start/end -->` markers is kept as written. `node bench/report.mjs` re-renders
// them and the charts (bench/charts/*.svg, see bench/lib/charts/).
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { findingsBlock } from './lib/findings.mjs'
import { latencyBlock } from './lib/latency-report.mjs'
import { judgedLatency } from './lib/latency.mjs'
import { pinnedHeaders, pinnedRow } from './lib/pinned.mjs'
import { markdown, median } from './lib/table.mjs'
import { KINDS, KIND_LABEL } from './lib/load.mjs'
import { OUTCOMES, OUTCOME_LABEL } from './sections/connect-storm.mjs'
import { MAIN_VARIANTS } from './lib/rolling-variants.mjs'
import { slowStartHeaders, slowStartRow } from './sections/rolling.mjs'
import { runtimeHeaders, runtimeRow } from './sections/runtimes.mjs'
import { spreadEvidence, spreadHeaders, spreadRow } from './sections/ws-spread.mjs'

const DOC = new URL('../BENCHMARKS.md', import.meta.url)
const load = (name) => {
  const file = new URL(`./results/${name}.json`, import.meta.url)
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null
}

// Rows merged from `--variant` runs come last in the file; the tables keep the variants' order (a TLS row its plain twin's).
const rank = (r) => { const i = MAIN_VARIANTS.findIndex((v) => v.name === r.variant.replace(/, TLS$/, '')); return i < 0 ? MAIN_VARIANTS.length : i }
const inOrder = (rows) => [...rows].sort((a, b) => rank(a) - rank(b))

const stamp = (run) => `${run.date.slice(0, 16).replace('T', ' ')} UTC${run.elapsedMs === undefined ? '' : ` (${Math.round(run.elapsedMs / 1000)} s)`}`
const preStopCell = (p) => (p ? `${p.durationMs} (${p.endedBy})` : '—')
const rollingHeaders = ['variant', 'LB lag', 'requests', ...KINDS.map((k) => KIND_LABEL[k]), 'old pod exit', 'SIGTERM→exit ms', 'pre-stop ms (ended by)']
const rollingRow = (r) => r.error
  ? [r.variant, r.lagMs ? `${r.lagMs / 1000} s` : '', 'error: ' + r.error.split('\n')[0].slice(0, 80)]
  : [r.variant, `${r.lagMs / 1000} s`, r.requests, ...KINDS.map((k) => r[k]), r.exitCode, r.sigtermToExitMs, preStopCell(r.preStop)]

function failureLines (runs) {
  const lines = []
  for (const r of runs) {
    if (!r.failures?.length) continue
    lines.push(`- **${r.variant}** (LB lag ${r.lagMs / 1000} s; first failed probe at ${r.timeline.firstProbeFailedMs} ms, LB saw it unready at ${r.timeline.readinessFailedMs} ms, out of rotation at ${r.timeline.outOfRotationMs} ms, exit at ${r.timeline.exitMs} ms):`)
    for (const f of r.failures.slice(0, 8)) {
      lines.push(`  ${f.count} × ${KIND_LABEL[f.kind]}${f.detail && f.detail !== f.kind ? ` (${f.detail})` : ''}, ${f.via}${f.slow ? ' slow' : ''} → ${f.pod}, ${f.firstMs}…${f.lastMs} ms after SIGTERM`)
    }
    if (r.failures.length > 8) lines.push(`  … ${r.failures.length - 8} more groups in bench/results/rolling.json`)
  }
  return lines.length ? lines.join('\n') : '- none: every request of every run succeeded.'
}

/**
 * The bytes added per request on every Node the bench measured: this one's rows beside those of
 * the other supported Nodes (`bytesOnRuntimes`), one row per door and shape.
 */
function bytesOnEveryNode (r, pct) {
  const measured = (r.results.bytesOnRuntimes ?? []).filter((x) => !x.skipped)
  if (measured.length === 0) return []
  const nodes = [{ version: r.machine.node.replace(/^v/, ''), doors: r.results.doors }, ...measured]
  const cell = (added, ratio) => added === undefined ? '—' : `${added >= 0 ? '+' : ''}${added} (${pct(ratio - 1)})`
  const shapes = [
    ['with graceful', (d) => cell(d.bytesAdded, d.bytesRatio)],
    ['one empty middleware, for comparison', (d) => d.bytesMedian.passthrough === undefined ? undefined : cell(d.bytesMedian.passthrough - d.bytesMedian.bare, d.bytesMedian.passthrough / d.bytesMedian.bare)],
    ['request-listener shape', (d) => d.listenerBytesAdded === undefined ? undefined : cell(d.listenerBytesAdded, d.listenerBytesRatio)]
  ]
  const rows = nodes[0].doors.flatMap(({ door }) => shapes.map(([shape, of]) => [door, shape, ...nodes.map((n) => of(n.doors.find((d) => d.door === door)))])
    .filter((row) => row.slice(2).some((x) => x !== undefined)))
  return [
    '',
    `Bytes added per request on every Node measured (B, median of ${r.results.config.allocRounds} rounds of ${r.results.config.allocRequests.toLocaleString('en')} requests each; ` +
      'the other Nodes installed as `node scripts/runtimes.mjs` does):',
    '',
    markdown(['door', 'shape', ...nodes.map((n) => `Node ${n.version}`)], rows.map((row) => row.map((x) => x ?? '—'))),
    ...(r.results.bytesOnRuntimes ?? []).filter((x) => x.skipped).map((x) => `\n${x.runtime} skipped: ${x.skipped}`)
  ]
}

const blocks = {
  machine () {
    const runs = ['rolling', 'overhead', 'idle', 'memory', 'connect-storm', 'proxies', 'websockets', 'ws-spread', 'single-host', 'runtimes', 'instructions'].map(load).filter(Boolean)
    if (!runs.length) return '_no results yet_'
    const m = runs[0].machine
    return [
      `- ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, ${m.platform}`,
      `- Node ${m.node}; open-file hard limit ${m.fdLimit}`,
      `- results: ${runs.map((r) => `${r.section} ${stamp(r)}${(r.updates ?? []).map((u) => ` + \`--variant ${u.variant}\` ${stamp(u)}${u.loadavg1m ? ` (load ${u.loadavg1m.before.toFixed(1)} → ${u.loadavg1m.after.toFixed(1)})` : ''}`).join('')}`).join(', ')}`,
      `- load average (1 min) before → after each section: ${runs.map((r) => r.loadavg1m ? `${r.section} ${r.loadavg1m.before.toFixed(1)} → ${r.loadavg1m.after.toFixed(1)}` : `${r.section} ?`).join(', ')}` +
        ' (other work on the machine competes for the 2 CPUs when this is above ~1)'
    ].join('\n')
  },
  rolling () {
    const r = load('rolling')
    if (!r) return '_not run yet_'
    const { preStop, idle } = r.results
    const main = inOrder(r.results.main)
    const c = r.results.config
    const out = [
      `${c.loops.proxyFast + c.loops.directFast} fast loops (GET /fast, ${c.rate} req/s together) and ${c.loops.proxySlow + c.loops.directSlow} slow loops (GET /slow, 1–2 s), half through the LB and half direct; readiness probed every ${c.probeIntervalMs} ms; at least ${c.durationMs / 1000} s of load per run and ${c.tailMs / 1000} s after the old pod exited; SIGKILL ${c.killAfterMs / 1000} s after SIGTERM.` +
        (c.rollouts > 1 ? ` The rows rolled out ${c.rollouts} times for the latency goal (graceful's and terminus's) show their first rollout here; the failed requests of all their rollouts are summed in the latency table below.` : ''),
      '',
      markdown(rollingHeaders, main.map(rollingRow)),
      '',
      'Failed requests, grouped (time relative to the SIGTERM of the old pod):',
      '',
      failureLines(main)
    ]
    const withSeries = main.filter((x) => x.series).map((x) => x.variant)
    if (withSeries.length < main.length) {
      out.push('', `Timeline chart: ${withSeries.length ? withSeries.map((v) => `**${v}**`).join(', ') : 'no variant'} so far; the other variants were measured before the bench recorded a time series and get one at their next run.`)
    }
    const slowStart = r.results.slowStart && inOrder(r.results.slowStart)
    if (slowStart?.length) {
      out.push('', `#### Slow start: the new pod warms up ${slowStart[0].newPod?.warmupMs / 1000} s after it listens`, '',
        'Its `/fast` and `/slow` answer 503 until then. Times in ms after the new pod listened; failed = every non-2xx or error, as above.', '',
        markdown(slowStartHeaders, slowStart.map(slowStartRow)), '', failureLines(slowStart))
    }
    if (preStop?.length) {
      out.push('', '#### Pre-stop window: traffic-aware vs fixed (fastify-graceful)', '', markdown(rollingHeaders, preStop.map(rollingRow)), '', failureLines(preStop))
    }
    if (idle?.length) {
      out.push('', '#### Idle pod (no traffic, readiness probes only)', '',
        markdown(['variant', 'exit', 'SIGTERM→exit ms', 'pre-stop ms (ended by)'], idle.map((x) => x.error ? [x.variant, 'error', x.error.slice(0, 80), ''] : [x.variant, x.exitCode, x.sigtermToExitMs, preStopCell(x.preStop)])))
    }
    return out.join('\n')
  },
  instructions () {
    const r = load('instructions')
    if (!r) return '_not run yet_'
    if (r.results.skipped) return `_skipped: ${r.results.skipped}_`
    const c = r.results.config
    const pct = (x) => (x === undefined ? '' : `${(x * 100).toFixed(1)} %`)
    const runs = (xs) => xs.join(' / ')
    // Warm-up GETs per door, with a default for the others.
    const warmups = (w) => Object.entries(w).map(([door, n]) => `${n.toLocaleString('en')}${door === 'default' ? ' (the other doors)' : ` (${door})`}`).join(', ')
    return [
      `GET ${c.path} under callgrind (\`node ${c.nodeFlags.join(' ')}\`): ${warmups(c.warmup)} warm-up GETs, then ${c.requests.toLocaleString('en')} GETs counted ` +
        `over ${c.connections} keep-alive connections; ${r.note ? r.note.split(',')[0] : `${c.runs} runs per variant`}, each a fresh process. Garbage collection and compilation are set apart (see the method).`,
      '',
      markdown(['door', 'bare', 'spread', 'with graceful', 'spread', 'graceful ÷ bare', 'one empty middleware', 'graceful ÷ middleware', 'graceful, request-listener shape', 'spread', 'listener ÷ bare'],
        r.results.doors.map((d) => [d.door, Math.round(d.median.bare), pct(d.spread.bare), Math.round(d.median.graceful), pct(d.spread.graceful), `**${d.ratio.toFixed(3)}**`,
          d.median.passthrough === undefined ? '—' : Math.round(d.median.passthrough), d.ratioOverPassthrough === undefined ? '—' : d.ratioOverPassthrough.toFixed(3),
          d.median.listener === undefined ? '—' : Math.round(d.median.listener), d.spread.listener === undefined ? '—' : pct(d.spread.listener),
          d.listenerRatio === undefined ? '—' : `**${d.listenerRatio.toFixed(3)}**`])),
      '',
      'Runs (instructions per request): ' + r.results.doors.map((d) => `${d.door} ${Object.entries(d.perRequest).map(([side, xs]) => `${side} ${runs(xs)}`).join('; ')}`).join(' — ')
    ].join('\n')
  },
  overhead () {
    const r = load('overhead')
    if (!r) return '_not run yet_'
    const c = r.results.config
    const pct = (x) => `${(x * 100).toFixed(1)} %`
    return [
      `GET ${c.path}, ${c.connections} keep-alive connections, ${c.rounds} alternated rounds of ${c.durationMs / 1000} s per door${c.pinned ? ' (servers on CPU 1, load generator on CPU 0)' : ''}. ` +
        `Bytes: JS heap allocated per request over ${c.allocRequests.toLocaleString('en')} requests, median of ${c.allocRounds} rounds.`,
      '',
      markdown(['door', 'bare req/s', 'with graceful req/s', 'ratio min', 'ratio median', 'ratio max', 'server CPU ratio (bare ÷ graceful)', 'bytes/req bare', 'with graceful', 'added', 'added over one empty middleware', 'request-listener shape: added'],
        r.results.doors.map((d) => [d.door, Math.round(median(d.rps.bare)), Math.round(median(d.rps.graceful)), pct(d.ratio.min), `**${pct(d.ratio.median)}**`, pct(d.ratio.max), pct(d.cpuRatio),
          d.bytesMedian.bare, d.bytesMedian.graceful, `**${d.bytesAdded}** (${pct(d.bytesRatio - 1)})`, d.bytesAddedOverPassthrough ?? '—',
          d.listenerBytesAdded === undefined ? '—' : `**${d.listenerBytesAdded}** (${pct(d.listenerBytesRatio - 1)})`])),
      '',
      'Rounds (req/s): ' + r.results.doors.map((d) => `${d.door} bare ${d.rps.bare.join(' ')}; graceful ${d.rps.graceful.join(' ')}`).join(' — '),
      ...bytesOnEveryNode(r, pct)
    ].join('\n')
  },
  idle () {
    const r = load('idle')
    if (!r) return '_not run yet_'
    const c = r.results.config
    const failed = r.results.runs.filter((x) => x.error)
    return [
      `SIGTERM → exit in ms, median of ${c.rounds} alternated rounds (the single runs in brackets); fd limit ${c.fdLimit}.`,
      '',
      markdown(['door', 'idle sockets', 'graceful', 'framework\'s own close()', 'graceful ÷ close()', 'graceful ms per 1k sockets', 'exit codes graceful / close()', 'client saw FIN / RST (graceful)'],
        r.results.rows.map((x) => [x.door, x.sockets, `**${x.graceful.medianMs}** (${x.graceful.ms.join(', ')})`, `${x.bare.medianMs} (${x.bare.ms.join(', ')})`,
          x.ratio.toFixed(2), x.graceful.msPer1k, `${x.graceful.exitCodes.join(' ')} / ${x.bare.exitCodes.join(' ')}`, `${x.graceful.fin} / ${x.graceful.reset}`])),
      ...failed.map((x) => `\n${x.variant} at ${x.requested} sockets failed: ${x.error.split('\n')[0].slice(0, 120)}`)
    ].join('\n')
  },
  memory () {
    const r = load('memory')
    if (!r) return '_not run yet_'
    const c = r.results.config
    return [
      `${c.sockets} idle keep-alive sockets, each after one request; bytes per socket, median of ${c.rounds}.`,
      '',
      markdown(['server', 'JS heap bare', 'JS heap with graceful', 'JS heap added by tracking', 'RSS bare', 'RSS with graceful', 'RSS added'],
        r.results.pairs.map((p) => [p.pair, p.bareHeapPerSocket, p.gracefulHeapPerSocket, `**${p.trackingHeapPerSocket}**`, p.bareRssPerSocket, p.gracefulRssPerSocket, p.trackingRssPerSocket]))
    ].join('\n')
  }
}

const stormBlock = () => {
  const r = load('connect-storm')
  if (!r) return '_not run yet_'
  const c = r.results.config
  return [
    `${c.clients} clients, each opening a new connection per request (\`GET /fast\`, \`agent: false\`), straight at one pod, through ${c.shutdowns} shutdowns per variant (variants alternate, so they share the machine's load); ours with \`preStopDelayMs: ${c.graceful.preStopDelayMs}\`. ECONNRESET: the kernel completed the handshake, then the connection was reset (the client has usually sent its request: unsafe to retry); ECONNREFUSED is safe to retry.`,
    '',
    markdown(['variant', 'shutdowns', 'requests', ...OUTCOMES.map((k) => OUTCOME_LABEL[k]), 'ECONNRESET per shutdown', 'report: accepted after drain began, per shutdown'],
      r.results.variants.map((v) => [v.variant, v.shutdowns.length, v.requests, ...OUTCOMES.map((k) => k === 'reset' ? `**${v.counts[k]}**` : v.counts[k]),
        v.shutdowns.map((s) => s.counts.reset).join(' '), v.ours ? v.shutdowns.map((s) => s.acceptedWhileClosing ?? '—').join(' ') : '—']))
  ].join('\n')
}

const proxiesBlock = () => {
  const r = load('proxies')
  if (!r) return '_not run yet_'
  const c = r.results.config
  const versions = Object.entries(r.results.versions).map(([name, v]) => `${name}: ${v ?? 'not installed (skipped)'}`).join('; ')
  return [
    `${versions}. ${c.loops} client loops send \`POST /fast\` (${c.rate} req/s together) over keep-alive connections to the proxy; two pods on fixed ports; ${c.restarts} rolling restart(s) of both pods per run (SIGTERM, exit, new pod on the same port, back in rotation, then the other pod). Ours: \`preStopDelayMs: ${c.graceful.preStopDelayMs}, gracePeriodMs: ${c.graceful.gracePeriodMs}\`.`,
    '',
    markdown(['proxy', 'variant', 'restarts', 'requests', 'ok', 'failed', '5xx (status)', 'ECONNRESET', 'other', 'old pods exit'],
      r.results.runs.map((x) => x.error
        ? [x.proxy, x.variant, 'error: ' + x.error.split('\n')[0].slice(0, 80)]
        : [x.proxy, x.variant, x.restarts.length, x.requests, x.ok, `**${x.failed}**`,
            x['5xx'] ? Object.entries(x.statuses).map(([s, n]) => `${n} × ${s}`).join(', ') : 0, x.reset, x.closed + x.refused + x.timeout + x.other,
            [...new Set(x.restarts.map((y) => y.exitCode))].join(' ')])),
    '',
    'nginx\'s error log, per run (what it saw from the pods):',
    '',
    ...r.results.runs.filter((x) => x.proxy === 'nginx' && !x.error).map((x) => `- ${x.variant}: ${Object.entries(x.upstreamErrors).map(([e, n]) => `${n} × \`${e}\``).join(', ') || 'nothing'}`),
    '',
    '<details><summary>The configurations (ports and temp dir as the bench fills them in)</summary>',
    '',
    '```haproxy',
    r.results.configs.haproxy.trim(),
    '```',
    '',
    '```nginx',
    r.results.configs.nginx.trim(),
    '```',
    '',
    '</details>'
  ].join('\n')
}

const websocketsBlock = () => {
  const r = load('websockets')
  if (!r) return '_not run yet_'
  const c = r.results.config
  const mb = (b) => (b / 2 ** 20).toFixed(1)
  return [
    `${c.clients} WebSocket clients (\`ws\`) through the LB, all on the old pod; the new pod joins the rotation, the old one gets SIGTERM; a closed client reconnects through the LB after ${c.reconnectDelayMs} ms (fixed, no jitter), and so does a failed attempt. LB lag ${c.lagMs / 1000} s, readiness probed every ${c.probeIntervalMs} ms. Times in ms after SIGTERM.`,
    '',
    markdown(['variant', 'old pod exit', 'SIGTERM→exit ms', 'close codes seen', 'reconnect attempts', 'failed attempts', 'peak attempts per 100 ms', 'all back after ms', 'old pod RSS: before → with clients MB', 'JS heap per client B', 'report: closed / terminated'],
      r.results.runs.map((x) => x.error
        ? [x.variant, 'error: ' + x.error.split('\n')[0].slice(0, 80)]
        : [x.variant, x.exitCode, x.sigtermToExitMs, Object.entries(x.closeCodes).map(([code, n]) => `${n} × ${code}`).join(', '),
            x.reconnectAttempts, `**${x.failedAttempts}**`, x.peakPer100Ms, x.allBackMs ?? `not all (${x.openAtEnd} open)`,
            `${mb(x.rss.before)} → ${mb(x.rss.withClients)}`, x.heap?.perClient ?? '—',
            x.longLived ? `${x.longLived.webSocketsClosed} / ${x.longLived.webSocketsTerminated}${x.socketsForced ? ` (${x.socketsForced} sockets forced)` : ''}` : '—'])),
    '',
    'Failed attempts: ' + r.results.runs.filter((x) => !x.error).map((x) => `${x.variant}: ${Object.entries(x.failures).map(([k, n]) => `${n} × ${k}`).join(', ') || 'none'}`).join('; ') + '.'
  ].join('\n')
}

const wsSpreadBlock = () => {
  const r = load('ws-spread')
  if (!r) return '_not run yet_'
  const c = r.results.config
  return [
    `WebSocket clients on v1 (gracePeriodMs ${c.graceful.gracePeriodMs}, close 1012 over \`longLived.spreadMs\`); each closed client reconnects after ${c.reconnectDelayMs} ms (fixed, no jitter) straight to v2. Times in ms after SIGTERM. Load average (1 min) before → after each row in its last column (— : not recorded; the full run: ${r.loadavg1m.before.toFixed(1)} → ${r.loadavg1m.after.toFixed(1)}) on ${r.machine.cpus} CPUs. A stall: a 10 ms timer of the process 50 ms or more late.`,
    '',
    markdown(spreadHeaders, r.results.runs.map((x) => spreadRow(x, (peak) => `**${peak}**`))),
    '',
    ...r.results.runs.map(spreadEvidence).filter(Boolean).map((line) => `- ${line}`),
    '',
    '![Peak reconnects per 100 ms on the remaining instance against longLived.spreadMs, 1,000 and 5,000 clients](bench/charts/ws-spread.svg)'
  ].join('\n')
}

const singleHostBlock = () => {
  const r = load('single-host')
  if (!r) return '_not run yet_'
  const c = r.results.config
  const runs = r.results.runs
  const pm2 = runs.filter((x) => x.scenario === 'pm2 reload' && !x.error)
  const bare = pm2.find((x) => x.variant.startsWith('bare'))
  const ours = pm2.find((x) => x.variant === 'express-graceful')
  const perInstance = (x) => x.seconds.reduce((a, b) => a + b, 0) / x.seconds.length / c.instances
  const lines = [
    `pm2 ${r.results.versions.pm2 ?? 'not installed (pm2 rows skipped)'}; ${c.loops.proxyFast} keep-alive loops of \`GET /fast\` (${c.rate} req/s together) and ${c.loops.proxySlow} of an ${c.slowMs} ms \`GET /slow\` over one undici pool; ${c.reloads} reload(s) per row (socket activation: ${c.reloads + 1} restarts), 1 s apart. pm2: cluster mode, ${c.instances} instances, \`wait_ready: true\`, \`kill_timeout: 12000\`; each row on its own PM2 daemon, all rows in one run. "seconds each": \`pm2 reload\` command, SIGHUP → the primary's \`reload\` event, stop → the new instance's ready line.`,
    '',
    markdown(['scenario', 'variant', 'restarts', 'requests', 'failed', 'ECONNRESET', 'other side closed', 'refused', 'seconds each'],
      runs.map((x) => x.error
        ? [x.scenario, x.variant, 'error: ' + x.error.split('\n')[0].slice(0, 80)]
        : [x.scenario, x.variant, x.restarts, x.requests, `**${x.failed}**`, x.reset, x.closed, x.refused, x.seconds.join(' ')]))
  ]
  if (bare && ours) {
    lines.push('', `Reload time per instance: bare ${perInstance(bare).toFixed(1)} s, express-graceful ${perInstance(ours).toFixed(1)} s (difference ${(perInstance(ours) - perInstance(bare)).toFixed(1)} s).`)
  }
  const failed = runs.filter((x) => !x.error && x.failed > 0)
  if (failed.length) lines.push('', 'Failures: ' + failed.map((x) => `${x.variant}: ${Object.entries(x.failureGroups).map(([k, n]) => `${n} × ${k}`).join(', ')}`).join('; ') + '.')
  return lines.join('\n')
}

const runtimesBlock = () => {
  const r = load('runtimes')
  if (!r) return '_not run yet_'
  const c = r.results.config
  return [
    `The same pods on each runtime (the Node running the bench is node20). Rolling update: ${c.rolling.loops.proxyFast + c.rolling.loops.directFast} fast and ${c.rolling.loops.proxySlow + c.rolling.loops.directSlow} slow client loops, half through the LB (readiness probed every 200 ms, ${c.lagMs / 1000} s lag), at least ${c.rolling.durationMs / 1000} s and ${c.rolling.minRequests} requests, ours with \`preStopDelayMs: ${c.graceful.preStopDelayMs}\`. Connect storm: ${c.storm.clients} clients, a new connection per request, ${c.storm.shutdowns} shutdowns, \`preStopDelayMs: ${c.storm.preStopDelayMs}\`; ECONNREFUSED is safe to retry, ECONNRESET is not.`,
    '',
    markdown(runtimeHeaders, r.results.runs.map(runtimeRow).map((row) => row.map((cell, i) => (i === 6 ? `**${cell}**` : cell))))
  ].join('\n')
}

blocks['single-host'] = singleHostBlock
blocks['rolling-latency'] = () => latencyBlock(load('rolling'), inOrder)
blocks['rolling-pinned'] = () => {
  const rows = load('rolling')?.results.pinned ?? []
  if (!rows.length) return '_not run yet_'
  return markdown(pinnedHeaders, rows.map((r) => pinnedRow(r, judgedLatency(r))))
}
blocks.runtimes = runtimesBlock
blocks['connect-storm'] = stormBlock
blocks.websockets = websocketsBlock
blocks['ws-spread'] = wsSpreadBlock
blocks.proxies = proxiesBlock
blocks.findings = () => findingsBlock(load)

export function updateDoc () {
  let text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : ''
  const missing = []
  for (const [name, render] of Object.entries(blocks)) {
    const start = `<!-- bench:${name}:start -->`
    const end = `<!-- bench:${name}:end -->`
    const i = text.indexOf(start)
    const j = text.indexOf(end)
    if (i < 0 || j < i) { missing.push(name); continue }
    text = text.slice(0, i + start.length) + '\n' + render() + '\n' + text.slice(j)
  }
  if (missing.length) text += '\n' + missing.map((n) => `<!-- bench:${n}:start -->\n${blocks[n]()}\n<!-- bench:${n}:end -->\n`).join('\n')
  writeFileSync(DOC, text)
  return fileURLToPath(DOC)
}

/** Renders bench/charts/*.svg (or into `dir`) from the results; returns the files written. */
export async function renderCharts ({ dir } = {}) {
  // Loaded only here: Vega is large, and the benchmark runs do not need it until the end.
  const { renderCharts: render } = await import('./lib/charts/index.mjs')
  return await render(load, { variantOrder: MAIN_VARIANTS.map((v) => v.name), ...(dir ? { dir } : {}) })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(updateDoc())
  for (const file of await renderCharts()) console.log(file)
}
