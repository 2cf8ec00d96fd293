// An autocannon-like HTTP/1.1 load generator on raw keep-alive sockets: `connections` sockets,
// each sending the next request as soon as the previous response is complete. It parses only the
// status line and Content-Length, so it needs much less CPU than the server it measures.
import net from 'node:net'

const CRLF2 = Buffer.from('\r\n\r\n')

/** Runs for `durationMs`, or until `requests` responses arrived when that is given (then a fixed amount of work). */
export function blast ({ port, path = '/fast', connections = 50, durationMs = 5000, requests = Infinity, host = '127.0.0.1' }) {
  const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: keep-alive\r\n\r\n`)
  let ok = 0
  let bad = 0
  let errors = 0
  let running = true
  const sockets = []
  return new Promise((resolve) => {
    let started = 0
    let t0 = 0
    const finish = () => {
      if (!running) return
      running = false
      const elapsed = performance.now() - t0
      for (const s of sockets) s.destroy()
      resolve({ ok, bad, errors, durationMs: elapsed, rps: ok / (elapsed / 1000) })
    }
    for (let i = 0; i < connections; i++) {
      const socket = net.connect({ port, host, noDelay: true })
      sockets.push(socket)
      let buf = null
      let need = -1 // body bytes still expected, -1 = reading headers
      socket.on('connect', () => {
        if (++started === connections) {
          t0 = performance.now()
          setTimeout(finish, durationMs)
          for (const s of sockets) s.write(request)
        }
      })
      socket.on('data', (chunk) => {
        buf = buf ? Buffer.concat([buf, chunk]) : chunk
        for (;;) {
          if (need < 0) {
            const end = buf.indexOf(CRLF2)
            if (end < 0) return
            const head = buf.toString('latin1', 0, end)
            const status = head.charCodeAt(9) === 50 ? 200 : 0 // '2xx'
            const m = /content-length:\s*(\d+)/i.exec(head)
            if (!m) { errors++; socket.destroy(); return }
            if (status === 200) ok++
            else bad++
            if (ok + bad === requests) finish()
            need = Number(m[1])
            buf = buf.subarray(end + 4)
          }
          if (buf.length < need) return
          buf = buf.subarray(need)
          need = -1
          if (running) socket.write(request)
          if (buf.length === 0) { buf = null; return }
        }
      })
      socket.on('error', () => { errors++ })
    }
  })
}
