// express as PM2's documentation writes a graceful app: listen, then process.send('ready'); on
// SIGINT, server.close() and exit once it closed. The baseline of the pm2 reload benchmark.
import express from 'express'

const app = express()
app.get('/fast', (req, res) => res.send(String(process.pid)))
app.get('/slow', (req, res) => setTimeout(() => res.send(String(process.pid)), Number(req.query.ms ?? 800)))
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'))
process.on('SIGINT', () => server.close(() => process.exit(0)))
