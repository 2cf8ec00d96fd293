// A compact time series for the results file: requests counted per bucket (100 ms) by outcome,
// from `fromMs` after an origin (the SIGTERM) to the last request. Only outcomes that occurred get
// an array; trailing empty buckets are left out. 30 s of a rolling run is about 2 KB of JSON.

/**
 * @param {{ at: number[], kind: string[] }} samples request start times (performance clock) and outcomes
 * @param {{ origin: number, bucketMs?: number, fromMs?: number }} options
 * @returns {{ bucketMs: number, fromMs: number, counts: Record<string, number[]> }}
 */
export function bucketSeries (samples, { origin, bucketMs = 100, fromMs = -2000 }) {
  const counts = {}
  let length = 0
  for (let i = 0; i < samples.at.length; i++) {
    const bucket = Math.floor((samples.at[i] - origin - fromMs) / bucketMs)
    if (bucket < 0) continue
    const kind = samples.kind[i]
    const row = (counts[kind] ??= [])
    while (row.length <= bucket) row.push(0)
    row[bucket]++
    length = Math.max(length, bucket + 1)
  }
  // One length for every outcome, so a chart reads them side by side.
  for (const row of Object.values(counts)) while (row.length < length) row.push(0)
  return { bucketMs, fromMs, counts }
}

/** The series back as rows { ms, kind, count } (ms: the bucket's start after the origin), zeros left out. */
export function seriesRows (series) {
  const rows = []
  for (const [kind, row] of Object.entries(series.counts)) {
    row.forEach((count, i) => { if (count > 0) rows.push({ ms: series.fromMs + i * series.bucketMs, kind, count }) })
  }
  return rows
}
