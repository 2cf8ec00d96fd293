// Hot-path overhead per door: throughput with graceful divided by throughput bare, one dot per
// alternated round (the spread), the median of those paired ratios as a bar, and the ratio of the
// medians as a diamond. 100 % is no overhead.
export function overheadSpec (overhead) {
  const pairs = overhead?.results?.pairs ?? []
  if (pairs.length === 0) return null
  const rounds = pairs.flatMap((p) => p.runs.bare.map((bare, i) => ({ door: p.framework, round: i + 1, ratio: p.runs.graceful[i] / bare })))
  const summary = pairs.map((p) => ({ door: p.framework, pairMedian: p.medianPairRatio, medians: p.ratio,
    low: Math.min(...rounds.filter((r) => r.door === p.framework).map((r) => r.ratio)),
    high: Math.max(...rounds.filter((r) => r.door === p.framework).map((r) => r.ratio)) }))
  const x = { type: 'quantitative', title: 'req/s with graceful ÷ req/s bare', axis: { format: '.0%' }, scale: { zero: false } }
  const y = { field: 'door', type: 'nominal', title: null, sort: pairs.map((p) => p.framework) }
  const c = overhead.results.config
  return {
    title: { text: 'Hot-path overhead per door', subtitle: `GET ${c.path}, ${c.connections} keep-alive connections, ${c.rounds} alternated rounds of ${c.durationMs / 1000} s. Dots: rounds; bar: median of paired ratios; diamond: ratio of the medians.` },
    width: 560,
    height: { step: 46 },
    layer: [
      { data: { values: [{ one: 1 }] }, mark: { type: 'rule', color: '#999', strokeDash: [4, 3] }, encoding: { x: { ...x, field: 'one' } } },
      { data: { values: summary }, mark: { type: 'rule', color: '#bbb', strokeWidth: 2 }, encoding: { x: { ...x, field: 'low' }, x2: { field: 'high' }, y } },
      { data: { values: rounds }, mark: { type: 'point', filled: true, opacity: 0.55, color: '#4e79a7', size: 40 }, encoding: { x: { ...x, field: 'ratio' }, y, tooltip: [{ field: 'round' }, { field: 'ratio', format: '.1%' }] } },
      { data: { values: summary }, mark: { type: 'tick', color: '#1f3a5f', thickness: 3, size: 26 }, encoding: { x: { ...x, field: 'pairMedian' }, y } },
      { data: { values: summary }, mark: { type: 'point', shape: 'diamond', filled: true, color: '#e15759', size: 90 }, encoding: { x: { ...x, field: 'medians' }, y } },
      { data: { values: summary }, mark: { type: 'text', align: 'center', dy: -17, fontSize: 10, color: '#1f3a5f' }, encoding: { x: { ...x, field: 'pairMedian' }, y, text: { field: 'pairMedian', format: '.1%' } } }
    ]
  }
}
