/**
 * The pacing of the long-lived spread, driven directly with stand-in connections (no sockets): each
 * records when its close was called. With a late event loop (blocked 60 ms between the spread's turns,
 * or one long stall) the closes catch up without bursting past 1.5 × the even rate in any 100 ms and
 * without stretching the window; without a stall every connection is closed once, with the code
 * configured, never before its planned moment. The bounds come from counts (the rate limit), and
 * the few bounds on time are generous: a loaded machine only makes the loop later.
 */
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { LongLivedSpread } from '../src/drain/long-lived-spread.js'
import { WebSocketCloser, type WebSocketLike } from '../src/drain/websockets.js'
import type { Drainer } from '../src/drain/contract.js'
import { within } from './helpers/inprocess.js'

/** Far enough that neither the window cap (half of it) nor the end of the holds (three quarters) applies. */
const DRAIN_MS = 20_000
const GUARD_MS = 15_000

interface Close { index: number, at: number, code: number | undefined }

/**
 * Blocks the event loop for `ms` without using a CPU: the loop is late as when the process waits for
 * one (the stalls measured under load), and tests running beside this one keep their CPU.
 */
function stallLoop (ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/** `count` open WebSockets; every close() call is recorded (the readyState stays open, so a second call would show). */
function fakeSockets (count: number, closes: Close[]): WebSocketCloser {
  const clients: WebSocketLike[] = Array.from({ length: count }, (_, index) => ({
    readyState: 1,
    close (code?: number) { closes.push({ index, at: performance.now(), code }) },
    terminate () {},
    once () {}
  }))
  const closer = new WebSocketCloser()
  closer.add({ clients })
  return closer
}

/** A drainer with `count` event streams; each end is recorded like a close (code undefined). */
function fakeStreams (count: number, closes: Close[], firstIndex: number): Drainer {
  const endLongLived = (spread?: (stream: object, end: () => void) => void): void => {
    for (let i = 0; i < count; i++) {
      const index = firstIndex + i
      spread?.({ index }, () => { closes.push({ index, at: performance.now(), code: undefined }) })
    }
  }
  return { endLongLived } as unknown as Drainer
}

/** Starts the spread over `spreadMs` and resolves with its start once `count` closes were recorded. */
async function spreadAll (t: Test, spreadMs: number, closeCode: number, drainers: Drainer[], sockets: WebSocketCloser, closes: Close[], count: number) {
  const spread = new LongLivedSpread({ spreadMs, closeCode })
  t.teardown(() => { spread.stop() })
  const start = performance.now()
  spread.begin(drainers, sockets, start + DRAIN_MS)
  await within((async () => { while (closes.length < count) await sleep(10) })(), GUARD_MS, 'every close')
  return { spread, start }
}

/** The most closes within any 100 ms (a window opening at each close). */
function peakPer100ms (closes: readonly Close[]): number {
  const times = closes.map((c) => c.at).sort((a, b) => a - b)
  let peak = 0
  for (let from = 0, to = 0; from < times.length; from++) {
    while (to < times.length && times[to]! < times[from]! + 100) to++
    peak = Math.max(peak, to - from)
  }
  return peak
}

// 1,000 closes over 1 s: batches of 20 every 20 ms, 100 per 100 ms when even, at most 150 per 100 ms.
const COUNT = 1000
const SPREAD_MS = 1000
const BATCH = 20
const MAX_PER_100MS = Math.ceil(1.5 * COUNT * 100 / SPREAD_MS)

t.test('a loop late at every turn (blocked 60 ms at a time): the closes catch up without a burst and the window does not stretch', async (t) => {
  const closes: Close[] = []
  // Stalls back to back: every turn of the spread runs up to 60 ms late.
  const hog = setInterval(() => { stallLoop(60) }, 1)
  t.teardown(() => { clearInterval(hog) })
  const { start } = await spreadAll(t, SPREAD_MS, 1012, [], fakeSockets(COUNT, closes), closes, COUNT)
  clearInterval(hog)
  t.equal(new Set(closes.map((c) => c.index)).size, COUNT, 'every connection closed once')
  const peak = peakPer100ms(closes)
  t.ok(peak <= MAX_PER_100MS + BATCH, `at most ${peak} closes within any 100 ms (even: 100, cap: ${MAX_PER_100MS})`)
  const times = closes.map((c) => c.at - start)
  // 1,000 closes at 150 per 100 ms take at least ~570 ms, however late the loop.
  t.ok(Math.max(...times) - Math.min(...times) >= SPREAD_MS / 2, `spread over ${Math.round(Math.max(...times) - Math.min(...times))} ms, not at once`)
  // One batch per late turn took about 6 s here; every due close per turn ends near the window.
  t.ok(Math.max(...times) <= SPREAD_MS + 1500, `the last close ${Math.round(Math.max(...times))} ms after the start of a ${SPREAD_MS} ms window`)
})

t.test('one long stall (500 ms): the late closes go at most 1.5 × the even rate, not all at once nor twice as fast', async (t) => {
  const closes: Close[] = []
  const stall = setTimeout(() => { stallLoop(500) }, 200)
  t.teardown(() => { clearTimeout(stall) })
  const { start } = await spreadAll(t, SPREAD_MS, 1012, [], fakeSockets(COUNT, closes), closes, COUNT)
  const peak = peakPer100ms(closes)
  t.ok(peak <= MAX_PER_100MS + BATCH, `at most ${peak} closes within any 100 ms after the stall (cap: ${MAX_PER_100MS})`)
  const last = Math.max(...closes.map((c) => c.at - start))
  t.ok(last <= SPREAD_MS + 1500, `the last close ${Math.round(last)} ms after the start of a ${SPREAD_MS} ms window`)
  t.equal(new Set(closes.map((c) => c.index)).size, COUNT, 'every connection closed once')
})

t.test('without a stall every connection, WebSocket or event stream, is closed exactly once with the configured code, none before its turn', async (t) => {
  const sockets = 50
  const streams = 10
  const count = sockets + streams
  const spreadMs = 300
  const closes: Close[] = []
  const { spread, start } = await spreadAll(t, spreadMs, 1001, [fakeStreams(streams, closes, sockets)], fakeSockets(sockets, closes), closes, count)
  await sleep(spreadMs) // a close sent twice would show by now
  t.equal(closes.length, count, 'one close per connection')
  t.same([...new Set(closes.map((c) => c.index))].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i), 'each connection once')
  t.same(new Set(closes.filter((c) => c.index < sockets).map((c) => c.code)), new Set([1001]), 'every WebSocket got close 1001, as configured')
  t.not(closes.map((c) => c.index).join(), Array.from({ length: count }, (_, i) => i).join(), 'in random order, not in connection order')
  t.equal(spread.counts.windowMs, spreadMs, 'the report gets the window used')
  // 15 batches of 4, batch i planned at i × 20 ms: the k-th close is never earlier than its batch.
  const batches = spreadMs / 20
  const early = closes.filter((c, k) => c.at - start < Math.floor((k * batches) / count) * (spreadMs / batches) - 1)
  t.same(early, [], 'no close before its planned moment')
  t.ok(closes.filter((c) => c.at - start < 20).length >= count / batches, 'the first batch went at once')
})
