// The docs' systemd server (docs/single-host.md) with the bench's routes: listens on fd 3 when
// systemd (or bench/lib/socket-supervisor.mjs) passed the socket.
import http from 'node:http'
import { createGraceful } from 'graceful-core'

const graceful = createGraceful({ gracePeriodMs: 10000 })
const server = http.createServer((req, res) => {
  if (graceful.handleProbe(req, res)) return
  const ms = Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 0)
  setTimeout(() => res.end(String(process.pid)), req.url.startsWith('/slow') ? ms : 0)
})
graceful.addServer(server)
server.listen(process.env.LISTEN_FDS ? { fd: 3 } : { port: 8080, host: '127.0.0.1' })
