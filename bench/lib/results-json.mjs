// The results files' JSON: indented like JSON.stringify(value, null, 2), except that an array of
// numbers stays on one line. A rolling run's time series is a few hundred counts per outcome; one
// per line would make the files (and their diffs) ten times longer for nothing.

const NUMBER = String.raw`-?\d+(?:\.\d+)?(?:e[+-]?\d+)?`
const NUMBER_ARRAY = new RegExp(String.raw`\[\n\s*(${NUMBER}(?:,\n\s*${NUMBER})*)\n\s*\]`, 'g')

export function stringifyResults (value) {
  return JSON.stringify(value, null, 2).replace(NUMBER_ARRAY, (_, items) => `[${items.split(/,\n\s*/).join(', ')}]`) + '\n'
}
