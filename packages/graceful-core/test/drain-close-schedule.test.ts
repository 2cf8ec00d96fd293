/**
 * The Connection: close schedule (CloseSchedule) on its own: each connection open at the signal
 * leaves through its first response after its turn, the turns in random order and evenly over the
 * pre-stop's minimum, the first at once; connections accepted during pre-stop are kept alive until
 * the drain; without keep-alive in pre-stop (a cluster worker) every response announces the close.
 */
import t from 'tap'
import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { CloseSchedule } from '../src/drain/close-schedule.js'
import type { DrainableServer } from '../src/drain/node-http.js'
import type { Response } from '../src/drain/requests.js'

const server = { keepAliveTimeout: 5000 } as unknown as DrainableServer
const sockets = (count: number): Socket[] => Array.from({ length: count }, () => ({}) as Socket)

/** A response not yet written on `socket`, as the schedule sees it. */
function response (socket: Socket): Response {
  const headers = new Map<string, string>()
  return {
    req: { socket, httpVersionMajor: 1 },
    headersSent: false,
    setHeader: (name: string, value: string) => { headers.set(name.toLowerCase(), value) },
    getHeader: (name: string) => headers.get(name.toLowerCase())
  } as unknown as Response
}

/** Whether the next response on each socket announces the close. */
function announces (schedule: CloseSchedule, on: Socket[]): boolean[] {
  return on.map((socket) => {
    const res = response(socket)
    schedule.announceOn(res)
    return res.getHeader('connection') === 'close'
  })
}

t.test('the connections open at the signal take turns over the spread: the first at once, the rest kept alive until theirs', async (t) => {
  const open = sockets(4)
  const schedule = new CloseSchedule(server, true)
  // Turns at 0, 5, 10 and 15 s: only the first is due now.
  schedule.keepNewConnections(20_000, [], open)
  const now = announces(schedule, open)
  t.equal(now.filter(Boolean).length, 1, 'one connection leaves at once')
  const kept = open.filter((_, i) => now[i] === false)
  t.same(announces(schedule, kept), [false, false, false], 'the others are kept alive: their turns have not come')
  const keptRes = response(kept[0] as Socket)
  schedule.announceOn(keptRes)
  t.equal(schedule.idleMsAfter(keptRes), 1000, 'a response kept alive before its turn leaves its socket idle for a second at the drain')
  schedule.closeAll()
  t.same(announces(schedule, kept), [true, true, true], 'once the drain begins every response announces the close')
})

t.test('every turn has come once the spread is over', async (t) => {
  const open = sockets(4)
  const schedule = new CloseSchedule(server, true)
  schedule.keepNewConnections(40, [], open)
  await sleep(60)
  t.same(announces(schedule, open), [true, true, true, true], 'each connection open at the signal leaves through its next response')
  const res = response(open[0] as Socket)
  schedule.announceOn(res)
  t.equal(schedule.idleMsAfter(res), undefined, 'a response that announced the close leaves no socket kept alive')
})

t.test('the connections with a request in flight take the first turns', async (t) => {
  const [busy, ...idle] = sockets(4) as [Socket, ...Socket[]]
  const schedule = new CloseSchedule(server, true)
  schedule.keepNewConnections(20_000, [busy], idle)
  t.same(announces(schedule, [busy, ...idle]), [true, false, false, false], 'a lone request in flight leaves through its response; the idle ones wait for their turns')
})

t.test('the turns come in random order', async (t) => {
  const open = sockets(4)
  const first = new Set<Socket>()
  for (let run = 0; run < 50; run++) {
    const schedule = new CloseSchedule(server, true)
    schedule.keepNewConnections(20_000, [], open)
    first.add(open[announces(schedule, open).indexOf(true)] as Socket)
  }
  t.ok(first.size > 1, `no connection is always the first to leave (${first.size} different firsts in 50 runs)`)
})

t.test('no spread: each connection open at the signal leaves through its next response; one accepted during pre-stop stays until the drain', async (t) => {
  const open = sockets(3)
  const schedule = new CloseSchedule(server, true)
  schedule.keepNewConnections(0, [], open)
  t.same(announces(schedule, open), [true, true, true])
  const [accepted] = sockets(1) as [Socket]
  schedule.accepted(accepted)
  t.same(announces(schedule, [accepted]), [false], 'accepted during pre-stop: kept alive')
  schedule.closeAll()
  t.same(announces(schedule, [accepted]), [true], 'until the drain')
})

t.test('without keep-alive in pre-stop (a cluster worker) every response announces the close from the signal on', async (t) => {
  const open = sockets(3)
  const schedule = new CloseSchedule(server, false)
  schedule.keepNewConnections(20_000, [], open)
  const [accepted] = sockets(1) as [Socket]
  schedule.accepted(accepted)
  t.same(announces(schedule, [...open, accepted]), [true, true, true, true])
})
