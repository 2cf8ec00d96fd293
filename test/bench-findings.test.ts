/**
 * The Findings of BENCHMARKS.md quote only figures generated from the committed results: the block
 * between the `bench:findings` markers is what bench/report.mjs renders from bench/results/*.json,
 * and the prose around it carries no measured figure of its own (one typed by hand goes stale at the
 * next run).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { findingsBlock } from '../bench/lib/findings.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const doc = readFileSync(join(root, 'BENCHMARKS.md'), 'utf8')
const findings = doc.slice(doc.indexOf('## Findings\n'))
const START = '<!-- bench:findings:start -->\n'
const END = '\n<!-- bench:findings:end -->'
const load = (name: string): unknown => {
  const file = join(root, 'bench', 'results', `${name}.json`)
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null
}

t.test('the Findings\' figures are what bench/report.mjs renders from the committed results', async (t) => {
  t.ok(findings.includes(START) && findings.includes(END), 'the Findings have a generated block')
  const committed = findings.slice(findings.indexOf(START) + START.length, findings.indexOf(END))
  t.equal(committed, findingsBlock(load), 'regenerated, it is the same (run node bench/report.mjs after a bench run)')
  t.match(committed, /fastify-graceful: 0 of [\d,]+ failed/, 'it quotes the rolling update of a door')
})

t.test('the prose of the Findings quotes no measured figure', async (t) => {
  const prose = findings.slice(0, findings.indexOf(START)) + findings.slice(findings.indexOf(END) + END.length)
  // Names in backticks (`delay 1 s`, option values), HTTP/2, status codes (503s, 143), issue numbers
  // (fastify#7044) and section references (§7, sections 5–7) are not measurements.
  const text = prose.replace(/`[^`]*`/g, '').replace(/HTTP\/2/g, '').replace(/\b(?:502|503)s?\b|exit status 143/g, '')
    .replace(/#\d+/g, '').replace(/§\d+/g, '').replace(/sections \d+–\d+/g, '').replace(/\b1001\b/g, '')
  const figures = [
    ...text.matchAll(/\d[\d,.]*(?:[–-]\d[\d,.]*)?\s*(?:ms|s|%|B|KB|MB|requests|failed|resets?)(?!\w)/g),
    ...text.matchAll(/\d{2,}/g)
  ].map((m) => m[0])
  t.same(figures, [], 'no figure typed into the prose')
  t.notMatch(text, /\b20\d\d-\d\d-\d\d\b/, 'no run date typed into the prose (the Machine block lists them)')
})
