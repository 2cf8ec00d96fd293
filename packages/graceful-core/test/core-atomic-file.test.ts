/** writeFileAtomic: replaces content whole, survives SIGKILL at any moment, and its failures reach the report. */
import t from 'tap'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGraceful, writeFileAtomic } from '../src/index.js'
import { exitWithin, spawnFixture } from './helpers/child.js'
import { delay, quiet, within } from './helpers/inprocess.js'

async function tempDir (t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'graceful-atomic-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

t.test('writes a file and replaces its content whole', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'state.json')
  await writeFileAtomic(file, 'first version, rather long ' + 'x'.repeat(10_000))
  t.equal(await readFile(file, 'utf8'), 'first version, rather long ' + 'x'.repeat(10_000))
  await writeFileAtomic(file, 'short')
  t.equal(await readFile(file, 'utf8'), 'short', 'a shorter write leaves no old tail')
  await writeFileAtomic(file, new Uint8Array([104, 105]))
  t.equal(await readFile(file, 'utf8'), 'hi', 'bytes too')
  t.same(await readdir(dir), ['state.json'], 'no temporary file left behind')
})

t.test('rejects when the directory does not exist and leaves nothing behind', async (t) => {
  const dir = await tempDir(t)
  await t.rejects(writeFileAtomic(join(dir, 'missing', 'state.json'), 'x'), { code: 'ENOENT' })
  t.same(await readdir(dir), [])
})

t.test('always leaves a complete, parseable last snapshot when the writer is SIGKILLed at random moments', async (t) => {
  const dir = await tempDir(t)
  // Four writers at a time, each on its own file, five kills each: 20 kills in all.
  const lane = async (n: number): Promise<void> => {
    const file = join(dir, `snapshot-${n}.json`)
    let lastSeq = 0
    for (let kill = 0; kill < 5; kill++) {
      const child = spawnFixture(t, 'snapshot-writer.mjs', [file])
      await child.waitForLine((l) => l.fixture === 'ready')
      await delay(Math.floor(Math.random() * 40))
      child.kill('SIGKILL')
      const exit = await exitWithin(child)
      t.equal(exit.signal, 'SIGKILL', `writer ${n}.${kill} was killed, not finished`)
      const text = await readFile(file, 'utf8')
      let snapshot: { seq: number, count: number, items: string[] } | undefined
      try {
        snapshot = JSON.parse(text) as { seq: number, count: number, items: string[] }
      } catch (error) {
        t.fail(`snapshot after kill ${n}.${kill} does not parse: ${(error as Error).message} (${text.length} bytes)`)
        return
      }
      const complete = snapshot.items.length === snapshot.count &&
        snapshot.items.every((item, k) => item === `item-${snapshot!.seq}-${k}`)
      t.ok(complete, `snapshot ${n}:${snapshot.seq} after kill ${kill} is complete`)
      t.ok(snapshot.seq > lastSeq, `and newer than the one before (${snapshot.seq} > ${lastSeq})`)
      lastSeq = snapshot.seq
    }
  }
  await Promise.all([0, 1, 2, 3].map(lane))
})

t.test('gives exit code 1 and outcome error when a persist hook fails to write', async (t) => {
  const dir = await tempDir(t)
  const graceful = createGraceful(quiet())
  graceful.onPersist('snapshot', async () => { await writeFileAtomic(join(dir, 'no-such-dir', 'state.json'), '{}') })
  graceful.onPersist('other', async () => { await writeFileAtomic(join(dir, 'other.json'), '{"ok":true}') })
  const report = await within(graceful.shutdown(), 5000, 'shutdown')
  t.equal(report.exitCode, 1)
  t.match(report.hooks, [
    { name: 'snapshot', phase: 'persist', outcome: 'error', error: { code: 'ENOENT' } },
    { name: 'other', phase: 'persist', outcome: 'ok' }
  ])
  t.same(JSON.parse(await readFile(join(dir, 'other.json'), 'utf8')), { ok: true }, 'the next persist hook still wrote')
})
