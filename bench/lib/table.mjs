// Plain-text and Markdown tables.
export function table (headers, rows) {
  const cells = rows.map((r) => r.map((c) => (c === undefined || c === null ? '' : String(c))))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)))
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')
}

export function markdown (headers, rows) {
  const esc = (c) => (c === undefined || c === null ? '' : String(c).replaceAll('|', '\\|'))
  return [
    '| ' + headers.map(esc).join(' | ') + ' |',
    '|' + headers.map((_, i) => (i === 0 ? '---' : '---:')).join('|') + '|',
    ...rows.map((r) => '| ' + r.map(esc).join(' | ') + ' |')
  ].join('\n')
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

export const round = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? null : Number(x.toFixed(d)))
