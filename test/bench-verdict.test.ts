/**
 * The verdict at the end of `pnpm bench --quick` (bench/lib/verdict.mjs and the sections'
 * metrics()): the committed results stand in for the committed run and edited copies of them, in a
 * temporary directory, for the quick run. A regression is flagged by name, a change within the
 * noise is not, a quick run's smaller size is not a change, and what the verdict cannot judge is
 * skipped with a line instead of a crash.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { formatVerdict, verdict } from '../bench/lib/verdict.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const committedDir = join(root, 'bench', 'results')
const JUDGED = ['rolling', 'memory', 'connect-storm', 'proxies', 'websockets', 'single-host', 'instructions']
const ALL = ['rolling', 'overhead', 'idle', ...JUDGED.slice(1)]
const modules: Record<string, any> = Object.fromEntries(await Promise.all(ALL.map(async (name) => [name, await import(`../bench/sections/${name}.mjs`)])))

/** A committed results file, as a fresh object to edit. */
const committed = (name: string): any => JSON.parse(readFileSync(join(committedDir, `${name}.json`), 'utf8'))

/** A directory of <section>.quick.json files: objects as JSON, strings as they are. */
function quickDir (t: Test, files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'graceful-verdict-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, `${name}.quick.json`), typeof content === 'string' ? content : JSON.stringify(content))
  return dir
}

/** The verdict on these quick files, for their sections only. */
const judge = (t: Test, files: Record<string, unknown>): any[] =>
  verdict({ sections: Object.fromEntries(Object.keys(files).map((name) => [name, modules[name]])), committedDir, quickDir: quickDir(t, files) })

const flagOf = (rows: any[], section: string, name: string): string | undefined => rows.find((r) => r.section === section && r.name === name)?.flag

t.test('the committed results against themselves: every figure ok, on one screen', async (t) => {
  const rows = judge(t, Object.fromEntries(ALL.map((name) => [name, committed(name)])))
  t.same(rows.filter((r) => r.flag !== 'ok'), [], 'no figure moved')
  for (const section of JUDGED) {
    t.ok(rows.some((r) => r.section === section), `${section} has figures`)
    t.notOk((rows as any).skipped.some((s: any) => s.section === section), `${section} is not skipped`)
  }
  const text = formatVerdict(rows)
  const lines = text.split('\n')
  // One screen: a row per judged figure (the middleware doors' request-listener shapes included) and one per section.
  t.ok(lines.length <= 70, `fits 70 lines (${lines.length})`)
  t.ok(lines.every((l) => l.length <= 100), `fits 100 columns (widest ${Math.max(...lines.map((l) => l.length))})`)
  for (const r of rows) t.match(text, r.name, `shows ${r.section} ${r.name}`)
  for (const s of (rows as any).skipped) t.match(text, `${s.section}: skipped`, `says ${s.section} was skipped`)
})

t.test('a zero-failure rolling row that now fails 50 requests is a REGRESSION, named', async (t) => {
  const rolling = committed('rolling')
  const row = rolling.results.main.find((r: any) => r.variant === 'fastify-graceful')
  t.equal(row.failed, 0, 'the committed row failed nothing')
  Object.assign(row, { failed: 50, ok: row.ok - 50, reset: 50 })
  // A full run judges the failures of all its rollouts of the row.
  if (row.latency?.pooled) row.latency.pooled.failed = 50
  const rows = judge(t, { rolling })
  const regressions = rows.filter((r) => r.flag === 'REGRESSION')
  t.equal(regressions.length, 1, 'one regression')
  t.match(regressions[0], { section: 'rolling', name: 'fastify-graceful, 1 s lag: failed', committed: 0, now: 50 })
  t.equal(flagOf(rows, 'rolling', 'slow start fastify-graceful, 1 s lag: failed'), 'ok', 'the slow-start row of the same variant is still ok')
  const line = formatVerdict(rows).split('\n').find((l) => l.includes('fastify-graceful, 1 s lag: failed') && !l.includes('slow start'))
  t.match(line, /\s0\s+50\s+±2\s+REGRESSION$/, 'the verdict line says was 0, now 50, REGRESSION')
})

t.test('instructions per request, graceful ÷ bare: within 1 % (or the committed spreads) is ok; beyond it, a REGRESSION', async (t) => {
  const moved = (factor: number): any => {
    const instructions = committed('instructions')
    const door = instructions.results.doors.find((d: any) => d.door === 'fastify')
    door.ratio = door.ratio * factor
    Object.assign(door.spread, { bare: 0, graceful: 0 })
    return flagOf(judge(t, { instructions }), 'instructions', 'fastify: instructions/req graceful ÷ bare')
  }
  const door = committed('instructions').results.doors.find((d: any) => d.door === 'fastify')
  const tolerance = Math.max(0.01, door.spread.bare + door.spread.graceful)
  t.equal(moved(1.005), tolerance > 0.005 ? 'ok' : 'REGRESSION', '+0.5 % is within the noise')
  t.equal(moved(1 + tolerance + 0.005), 'REGRESSION', 'beyond 1 % (or the committed spread) is a regression')
  t.equal(moved(1 - tolerance - 0.005), 'better', 'fewer instructions is better')
})

t.test('a change within the noise is ok; beyond it, the flag follows the direction', async (t) => {
  const failing = (n: number): any => {
    const rolling = committed('rolling')
    rolling.results.preStop.find((r: any) => r.variant === 'traffic-aware (defaults)' && r.lagMs === 7000).failed = n
    return flagOf(judge(t, { rolling }), 'rolling', 'traffic-aware (defaults), 7 s lag: failed')
  }
  t.equal(failing(2), 'ok', '2 stray failures are within the tolerance')
  t.equal(failing(3), 'REGRESSION', '3 are not')

  const heap = (added: number): any => {
    const memory = committed('memory')
    memory.results.pairs[0].trackingHeapPerSocket += added
    return flagOf(judge(t, { memory }), 'memory', 'node:http + graceful-core: heap B/socket added')
  }
  t.equal(heap(15), 'ok', '+15 B per socket is within the noise')
  t.equal(heap(200), 'REGRESSION', '+200 B per socket is a regression')
  t.equal(heap(-200), 'better', '-200 B per socket is better')

  // The committed WebSocket run: its reconnect peak, and every client reconnecting in one 100 ms slice.
  const wsRun = committed('websockets').results.runs.find((r: any) => r.kind === 'ws-graceful')
  const peak = (n: number): any => {
    const websockets = committed('websockets')
    websockets.results.runs.find((r: any) => r.kind === 'ws-graceful').peakPer100Ms = n
    return flagOf(judge(t, { websockets }), 'websockets', 'wss registered: reconnect peak/100 ms, %')
  }
  const countingNoise = Math.floor(Math.sqrt(wsRun.peakPer100Ms))
  t.equal(peak(wsRun.peakPer100Ms + countingNoise), 'ok', `${wsRun.peakPer100Ms + countingNoise} of ${wsRun.clients} at the peak instead of ${wsRun.peakPer100Ms}: counting noise`)
  t.equal(peak(wsRun.clients), 'REGRESSION', `all ${wsRun.clients} at once is a regression`)

  // The noise is the larger of the two runs': quick rows that agree closely (no spread of their
  // own) are judged with the committed run's spread of SIGTERM → exit.
  const EXIT = 'ours, 2 s pre-stop: median SIGTERM→exit ms'
  const figure = modules.rolling.metrics(committed('rolling').results).find((m: any) => m.name === EXIT)
  t.ok(figure?.noise > 0, `the committed run has a spread of SIGTERM → exit (${figure?.noise} ms)`)
  const exitAt = (ms: number): any => {
    const rolling = committed('rolling')
    for (const r of [...rolling.results.main, ...rolling.results.slowStart]) if (r.kind.endsWith('-graceful')) r.sigtermToExitMs = ms
    return judge(t, { rolling }).find((r) => r.name === EXIT)
  }
  const within = figure.value + Math.floor(figure.noise * 0.7)
  t.match(exitAt(within), { committed: figure.value, now: within, noise: figure.noise, flag: 'ok' }, 'within the committed spread: ok')
  t.match(exitAt(figure.value + figure.noise + 1), { noise: figure.noise, flag: 'REGRESSION' }, 'beyond it: a regression')
})

t.test('a quick-sized run of the same behaviour is ok: fewer shutdowns, reloads, rounds and clients', async (t) => {
  const storm = committed('connect-storm')
  // The last two shutdowns: express-graceful's include its one reset.
  for (const v of storm.results.variants) v.shutdowns = v.shutdowns.slice(-2)
  const memory = committed('memory')
  for (const p of memory.results.pairs) {
    p.runs = { bare: p.runs.bare.slice(0, 1), graceful: p.runs.graceful.slice(0, 1) }
    p.trackingHeapPerSocket = Math.round(p.runs.graceful[0].heapPerSocket - p.runs.bare[0].heapPerSocket)
  }
  const singleHost = committed('single-host')
  for (const r of singleHost.results.runs) Object.assign(r, { restarts: r.restarts - 1, seconds: r.seconds.slice(1) })
  const websockets = committed('websockets')
  websockets.results.config.clients = 300
  for (const r of websockets.results.runs) {
    Object.assign(r, { clients: 300, peakPer100Ms: Math.round(r.peakPer100Ms * 0.3), failedAttempts: Math.round(r.failedAttempts * 0.3) })
    r.closeCodes = Object.fromEntries(Object.entries(r.closeCodes).map(([code, n]) => [code, Math.round((n as number) * 0.3)]))
  }
  const rows = judge(t, { 'connect-storm': storm, memory, 'single-host': singleHost, websockets })
  t.ok(rows.length >= 12, 'every figure of the four sections')
  t.same(rows.filter((r) => r.flag !== 'ok').map((r) => `${r.section} ${r.name}: ${r.flag}`), [], 'all ok, none better or worse for being smaller')
})

t.test('a figure the quick run lacks is missing, one the committed run lacks is new; neither is a regression', async (t) => {
  const rolling = committed('rolling')
  rolling.results.main = rolling.results.main.map((r: any) => (r.variant === 'nestjs-graceful' ? { variant: r.variant, kind: r.kind, lagMs: r.lagMs, error: 'pod did not start' } : r))
  const rows = judge(t, { rolling })
  t.equal(flagOf(rows, 'rolling', 'nestjs-graceful, 1 s lag: failed'), 'missing')
  t.notOk(rows.some((r) => r.flag === 'REGRESSION'))

  const fresh = verdict({ sections: { websockets: modules.websockets }, committedDir: quickDir(t, {}), quickDir: quickDir(t, { websockets: committed('websockets') }) })
  t.ok(fresh.length > 0 && fresh.every((r: any) => r.flag === 'new' && r.committed === null), 'no committed file: every figure is new')
})

t.test('a section without metrics(), a shape it does not know, a broken file or no quick file: skipped with a line', async (t) => {
  const sections = {
    ...modules,
    overhead: { runOverhead () {} },
    odd: { metrics: () => 'not a list' }
  }
  const files = {
    overhead: committed('overhead'),
    rolling: { section: 'rolling', results: { rows: [] } },
    memory: '{ not json',
    websockets: { section: 'websockets', results: { config: {}, runs: [] } },
    odd: { section: 'odd', results: {} }
  }
  let rows: any
  t.doesNotThrow(() => { rows = verdict({ sections: { ...Object.fromEntries(Object.keys(files).map((n) => [n, (sections as any)[n]])), proxies: modules.proxies }, committedDir, quickDir: quickDir(t, files) }) })
  t.same(rows, [], 'no figure')
  const skipped = Object.fromEntries(rows.skipped.map((s: any) => [s.section, s.reason]))
  t.same(Object.keys(skipped).sort(), ['memory', 'odd', 'overhead', 'proxies', 'rolling', 'websockets'])
  t.match(skipped.overhead, /no metrics\(\)/)
  t.match(skipped.rolling, /not understood/)
  t.match(skipped.memory, /not understood/)
  t.match(skipped.websockets, /no figures/)
  t.match(skipped.odd, /no array/)
  t.match(skipped.proxies, /no quick results/)
  const text = formatVerdict(rows)
  for (const section of Object.keys(skipped)) t.equal(text.split('\n').filter((l) => l.startsWith(`${section}: skipped`)).length, 1, `one line for ${section}`)
})
