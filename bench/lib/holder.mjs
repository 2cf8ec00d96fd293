// Holds idle keep-alive connections: `node holder.mjs <port> <count> <concurrency>` opens `count`
// raw sockets to 127.0.0.1:port, sends one GET /fast on each, reads its response and keeps the
// socket open. Prints BENCH {"type":"held"} when all are idle; on `stats` prints how they ended.
import net from 'node:net'

const [port, count, concurrency = 100] = process.argv.slice(2).map(Number)
const out = (msg) => process.stdout.write('BENCH ' + JSON.stringify(msg) + '\n')
const request = Buffer.from(`GET /fast HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
const sockets = []
let answered = 0
let failed = 0
let fin = 0
let reset = 0
let closed = 0
let lastCloseAt = 0
const errors = {}

process.stdin.on('data', (buf) => {
  if (buf.toString().includes('stats')) out({ type: 'stats', held: answered, failed, fin, reset, closed, open: sockets.length - closed, lastCloseAt, errors })
})
process.stdin.on('end', () => process.exit(0))
setTimeout(() => process.exit(97), 300_000).unref()

function openOne () {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' })
    let got = false
    sockets.push(s)
    s.on('connect', () => s.write(request))
    s.on('data', (d) => {
      if (!got && d.includes('\r\n\r\n')) {
        got = true
        answered++
        resolve()
      }
    })
    s.on('end', () => { fin++ })
    s.on('error', (err) => {
      errors[err.code] = (errors[err.code] ?? 0) + 1
      if (err.code === 'ECONNRESET') reset++
      if (!got) { failed++; resolve() }
    })
    s.on('close', () => {
      closed++
      lastCloseAt = performance.timeOrigin + performance.now()
      if (!got) { got = true; failed++; resolve() }
    })
  })
}

let next = 0
async function worker () {
  while (next < count) {
    next++
    await openOne()
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
out({ type: 'held', held: answered, failed })
