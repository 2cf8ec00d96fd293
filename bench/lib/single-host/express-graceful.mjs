// The same routes with express-graceful, as the README's PM2 example (PRESTOP_MS overrides the
// pre-stop default, for the pre-stop sweep; STARTUP_MS adds a startup task).
import express from 'express'
import { expressGraceful } from 'express-graceful'

const env = process.env
const graceful = expressGraceful({ gracePeriodMs: 10000, ...(env.PRESTOP_MS ? { preStopDelayMs: Number(env.PRESTOP_MS) } : {}), logger: false })
if (env.STARTUP_MS) graceful.startup('warm-up', new Promise((resolve) => setTimeout(resolve, Number(env.STARTUP_MS))))
const app = express()
app.use(graceful.middleware)
app.get('/fast', (req, res) => res.send(String(process.pid)))
app.get('/slow', (req, res) => setTimeout(() => res.send(String(process.pid)), Number(req.query.ms ?? 800)))
graceful.attach(app.listen(Number(env.PORT), '127.0.0.1'))
