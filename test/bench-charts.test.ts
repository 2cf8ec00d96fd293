/**
 * The benchmark charts (bench/charts/*.svg): bench/report.mjs renders each from the committed
 * results as well-formed SVG that shows what it claims, the committed files are what the committed
 * results give, and the charts take the shapes future results may have.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import t, { type Test } from 'tap'
import { renderCharts } from '../bench/report.mjs'
import { idleExitSpec } from '../bench/lib/charts/idle-exit.mjs'
import { renderSvg } from '../bench/lib/charts/render.mjs'
import { rollingTimelineSpec } from '../bench/lib/charts/rolling-timeline.mjs'
import { latencyPairs, rollingLatencySpec } from '../bench/lib/charts/rolling-latency.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const results = (name: string): any => JSON.parse(readFileSync(join(root, 'bench', 'results', `${name}.json`), 'utf8'))

/** The SVG's text content, all of it (labels, titles, legends). */
function texts (svg: string): string {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).join('\n').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&#39;', '\'').replaceAll('&quot;', '"').replaceAll('&amp;', '&')
}

function checkSvg (t: Test, svg: string): void {
  t.equal(XMLValidator.validate(svg), true, 'well-formed XML')
  const doc = new XMLParser({ ignoreAttributes: false }).parse(svg)
  t.ok(doc.svg, 'an <svg> root')
  t.ok(Number(doc.svg?.['@_width']) > 0 && Number(doc.svg?.['@_height']) > 0, 'with a size')
  t.equal(doc.svg?.['@_xmlns'], 'http://www.w3.org/2000/svg', 'in the SVG namespace (shown by browsers and GitHub)')
}

const CHARTS = ['idle-exit.svg', 'overhead.svg', 'rolling-latency.svg', 'rolling-timeline.svg', 'runtimes.svg', 'ws-spread.svg']

t.test('report.mjs renders the six charts from the committed results as valid SVG, the same as the committed files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'graceful-charts-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const written: string[] = await renderCharts({ dir: pathToFileURL(dir + '/') })
  t.same(written.map((f) => f.slice(dir.length + 1)).sort(), CHARTS)
  const committed = join(root, 'bench', 'charts')
  t.same(readdirSync(committed).sort(), CHARTS, 'the committed charts')
  for (const name of readdirSync(dir)) {
    const svg = readFileSync(join(dir, name), 'utf8')
    await t.test(name, async (t) => { checkSvg(t, svg) })
    t.equal(svg, readFileSync(join(committed, name), 'utf8'), `bench/charts/${name} is what the committed results give (else: node bench/report.mjs)`)
  }

  const timeline = texts(readFileSync(join(dir, 'rolling-timeline.svg'), 'utf8'))
  const withSeries = results('rolling').results.main.filter((r: { series?: unknown }) => r.series)
  t.ok(withSeries.length > 0, 'at least one rolling variant has a time series')
  for (const run of withSeries) t.match(timeline, run.variant, `the timeline has ${run.variant}`)
  for (const mark of ['SIGTERM', 'readiness 503', 'listener closed', 'exit']) t.match(timeline, mark, `it marks ${mark}`)

  const latency = texts(readFileSync(join(dir, 'rolling-latency.svg'), 'utf8'))
  const rolling = results('rolling').results
  const timed = [...rolling.main, ...rolling.tls].filter((r: { latency?: unknown }) => r.latency)
  t.ok(timed.some((r: { variant: string }) => r.variant.endsWith(', TLS')), 'at least one TLS row has latency')
  for (const pair of latencyPairs(rolling)) {
    for (const protocol of Object.keys(pair.cells)) t.match(latency, `${pair.base}, ${protocol}`, `the latency chart has ${pair.base} on ${protocol}`)
  }
  for (const stat of ['p50', 'p99', 'conns']) t.match(latency, stat, `and shows ${stat}`)

  const overhead = texts(readFileSync(join(dir, 'overhead.svg'), 'utf8'))
  for (const door of results('overhead').results.doors) {
    t.match(overhead, door.door, `the overhead chart has ${door.door}`)
    t.match(overhead, `${(door.ratio.median * 100).toFixed(1)}%`, 'and its median paired ratio')
  }

  const idle = texts(readFileSync(join(dir, 'idle-exit.svg'), 'utf8'))
  for (const door of new Set(results('idle').results.rows.map((r: { door: string }) => r.door))) t.match(idle, door as string, `the idle chart has ${door}`)
  for (const side of ['graceful', "framework's own close()"]) t.match(idle, side, `and tells ${side} apart`)

  const runtimes = texts(readFileSync(join(dir, 'runtimes.svg'), 'utf8'))
  for (const run of results('runtimes').results.runs.filter((r: { error?: string, skipped?: string }) => !r.error && !r.skipped)) {
    t.match(runtimes, run.runtime, `the runtimes chart has ${run.runtime}`)
  }
  for (const measure of ['rolling update: failed', 'connect storm: ECONNRESET']) t.match(runtimes, measure, `and ${measure}`)
  const spread = texts(readFileSync(join(dir, 'ws-spread.svg'), 'utf8'))
  for (const clients of new Set(results('ws-spread').results.runs.map((r: { clients: number }) => r.clients))) {
    t.match(spread, `${(clients as number).toLocaleString('en')} clients`, `the spread chart has a line for ${clients} clients`)
  }
})

t.test('the idle chart takes any number of socket counts (50k included)', async (t) => {
  const idle = results('idle')
  const side = (variant: string, medianMs: number): object => ({ variant, medianMs })
  const rows = [...idle.results.rows, { door: 'fastify', sockets: 50_000, graceful: side('fastify-graceful', 2700), bare: side('fastify app.close()', 2900) }]
  const svg = await renderSvg(idleExitSpec({ ...idle, results: { ...idle.results, rows } }))
  checkSvg(t, svg)
  t.match(texts(svg), /50k/, 'a tick at 50k')
  t.match(texts(svg), /50,000 sockets/, 'named in the subtitle')
})

t.test('a rolling run without failures still draws its panels and marks', async (t) => {
  const run = {
    variant: 'no failures', requests: 300, failed: 0, exitCode: '0', sigtermToExitMs: 900,
    timeline: { readiness503Ms: 100, listenerClosedMs: 500, exitMs: 900 },
    series: { bucketMs: 100, fromMs: -2000, counts: { ok: Array(30).fill(10) } }
  }
  const svg = await renderSvg(rollingTimelineSpec([run]))
  checkSvg(t, svg)
  t.match(texts(svg), /no failures: 0 of 300 failed, exit 0 after 900 ms/)
  t.match(texts(svg), /no failed request/, 'says so where failures would be')
})

t.test('the latency chart takes a variant measured on one protocol only, and runs without latency', async (t) => {
  const run = (variant: string, p99: number): object => ({
    variant, failed: 0, requests: 100, timeline: { outOfRotationMs: 1500, exitMs: 3000 },
    latency: {
      p99Ratio: 1.1, steady: { p50: 1, p99: 10 }, rollout: { p50: 2, p99: p99, connections: { count: 3 } },
      series: { bucketMs: 250, fromMs: -2000, n: [10, 0, 10], p50: [1, 0, 2], p99: [10, 0, p99], max: [12, 0, p99], connects: [0, 0, 3] }
    }
  })
  const results = { main: [run('a', 11), { variant: 'old row, no latency' }], tls: [run('b, TLS', 40)] }
  const pairs = latencyPairs(results, ['a', 'b'])
  t.same(pairs.map((p: { base: string }) => p.base), ['b'], 'a plain row without a TLS twin is left out when TLS rows exist')
  const svg = await renderSvg(rollingLatencySpec(latencyPairs({ main: results.main, tls: [] }, ['a'])))
  checkSvg(t, svg)
  t.match(texts(svg), /a, HTTP/)
  const both = await renderSvg(rollingLatencySpec(latencyPairs({ main: [run('a', 11)], tls: [run('a, TLS', 40)] }, ['a'])))
  checkSvg(t, both)
  t.match(texts(both), /a, TLS/)
  t.equal(rollingLatencySpec(latencyPairs({ main: [{ variant: 'x' }], tls: [] })), null, 'nothing to draw without latency')
})
