// Hot-path overhead per door: throughput with graceful divided by throughput bare, one dot per
// alternated round (the spread, min to max as a rule), the median of those paired ratios as a bar,
// and the ratio of the medians as a diamond. 100 % is no overhead.
export function overheadSpec (overhead) {
  const doors = overhead?.results?.doors ?? []
  if (doors.length === 0) return null
  const rounds = doors.flatMap((d) => d.ratios.map((ratio, i) => ({ door: d.door, round: i + 1, ratio })))
  const summary = doors.map((d) => ({ door: d.door, pairMedian: d.ratio.median, medians: d.ratioOfMedians, low: d.ratio.min, high: d.ratio.max }))
  const x = { type: 'quantitative', title: 'req/s with graceful ÷ req/s bare', axis: { format: '.0%' }, scale: { zero: false } }
  const y = { field: 'door', type: 'nominal', title: null, sort: doors.map((d) => d.door) }
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
