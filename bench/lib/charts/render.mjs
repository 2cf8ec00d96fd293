// Renders a Vega-Lite spec to an SVG string with Vega's headless renderer (no browser, no canvas:
// text widths are estimated, which is fine for labels). One look for every chart: white
// background, the same font, a fixed seed-free layout, so a rerender of the same results gives
// the same file.
import * as vega from 'vega'
import { compile } from 'vega-lite'

const CONFIG = {
  background: 'white',
  font: 'Helvetica, Arial, sans-serif',
  padding: 8,
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal' },
  header: { labelFontSize: 12, titleFontSize: 12 },
  title: { fontSize: 14, subtitleFontSize: 11, subtitleColor: '#555', anchor: 'start' }
}

export async function renderSvg (spec) {
  const { spec: compiled } = compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: CONFIG, ...spec })
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
