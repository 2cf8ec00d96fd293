// The rolling section's rows (bench/sections/rolling.mjs): which pods, with which options, under
// which clients. Each row's `kind` is a pod of bench/lib/pod.mjs.

// The LB takes a pod out up to three probe periods (3 × 200 ms) + the lag (1 s) after readiness
// fails, so the main variants wait 2 s before they stop listening (terminus: the same 2 s sleep).
const GRACEFUL_2S = { preStopDelayMs: 2000, gracePeriodMs: 10_000 }
const GRACEFUL_1S = { preStopDelayMs: 1000, gracePeriodMs: 10_000 }
const AWARE = { preStopDelayMs: 1000, preStopQuietMs: 1000, preStopMaxMs: 15_000, gracePeriodMs: 30_000 }
const FIXED5 = { preStopDelayMs: 5000, preStopQuietMs: 0, gracePeriodMs: 30_000 }

export const MAIN_VARIANTS = [
  { name: 'fastify-graceful', kind: 'fastify-graceful', opts: { graceful: GRACEFUL_2S }, note: 'preStopDelayMs 2000, gracePeriodMs 10000' },
  { name: 'express-graceful', kind: 'express-graceful', opts: { graceful: GRACEFUL_2S }, note: 'preStopDelayMs 2000, gracePeriodMs 10000' },
  { name: 'nestjs-graceful', kind: 'nest-graceful', opts: { graceful: GRACEFUL_2S }, note: 'NestJS 11 (platform-express), preStopDelayMs 2000, gracePeriodMs 10000' },
  { name: 'fastify-graceful, delay 1 s (< lag + probe)', kind: 'fastify-graceful', opts: { graceful: GRACEFUL_1S }, note: 'preStopDelayMs 1000: shorter than probe detection + LB lag' },
  { name: 'fastify app.close()', kind: 'fastify-close', opts: {}, note: 'default Fastify(), SIGTERM → await app.close(), exit 0' },
  { name: 'express server.close()', kind: 'express-close', opts: {}, note: 'SIGTERM → server.close(cb), exit 0 in cb' },
  { name: '@godaddy/terminus', kind: 'terminus', opts: { beforeShutdownMs: 2000, timeoutMs: 10_000 }, note: 'healthChecks /ready, beforeShutdown 2 s sleep, timeout 10000' },
  { name: 'http-terminator', kind: 'http-terminator', opts: { timeoutMs: 10_000 }, note: 'SIGTERM → terminate(), gracefulTerminationTimeout 10000' }
]

// Slow start: the new pod (v2) warms up for 3 s after it listens and answers 503 before that.
// Graceful pods hold /ready at 503 `starting` with graceful.startup('warm-up', ...); the others'
// readiness answers 200 as soon as they listen, so the LB (and the rollout) moves on too early.
const WARMUP = { warmupMs: 3000 }
export const SLOW_START_VARIANTS = MAIN_VARIANTS
  .filter((v) => !v.name.includes('delay 1 s'))
  .map((v) => ({ ...v, newPod: WARMUP, note: `${v.note}; new pod warms up 3 s after listening` }))

// TLS: the same pods listening with HTTPS; the LB's pools and probes and the direct clients connect
// with TLS (clients → LB stay plain). During graceful's pre-stop every response says `Connection:
// close`, so each request to the old pod then opens a connection: here a TLS handshake.
export const TLS_VARIANTS = MAIN_VARIANTS
  .filter((v) => !v.name.includes('delay 1 s'))
  .map((v) => ({ ...v, name: `${v.name}, TLS`, tls: true, note: `${v.note}; HTTPS between the LB / direct clients and the pods` }))

// Pinned clients: the direct loops keep one connection each to the pod they connected to (a client
// behind a Kubernetes Service) instead of picking a pod per request; plain HTTP and TLS.
export const PINNED_VARIANTS = [...MAIN_VARIANTS, ...TLS_VARIANTS]
  .filter((v) => /^(fastify-graceful|@godaddy\/terminus)(, TLS)?$/.test(v.name))
  .map((v) => ({ ...v, name: v.name.replace(/(, TLS)?$/, ', pinned clients$1'), pinned: true, note: `${v.note}; direct clients pinned to a pod by their connection` }))

export const PRESTOP_VARIANTS = [
  { name: 'traffic-aware (defaults)', kind: 'fastify-graceful', opts: { graceful: AWARE }, lagMs: 1000, note: 'preStopDelayMs 1000, preStopQuietMs 1000, preStopMaxMs 15000' },
  { name: 'fixed 5 s', kind: 'fastify-graceful', opts: { graceful: FIXED5 }, lagMs: 1000, note: 'preStopDelayMs 5000, preStopQuietMs 0' },
  { name: 'traffic-aware (defaults)', kind: 'fastify-graceful', opts: { graceful: AWARE }, lagMs: 7000, note: 'preStopDelayMs 1000, preStopQuietMs 1000, preStopMaxMs 15000' },
  { name: 'fixed 5 s', kind: 'fastify-graceful', opts: { graceful: FIXED5 }, lagMs: 7000, note: 'preStopDelayMs 5000, preStopQuietMs 0' }
]

export const IDLE_VARIANTS = [
  { name: 'traffic-aware (defaults), idle', kind: 'fastify-graceful', opts: { graceful: AWARE } },
  { name: 'fixed 5 s, idle', kind: 'fastify-graceful', opts: { graceful: FIXED5 } }
]
