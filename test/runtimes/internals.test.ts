/**
 * The Node internals graceful's drain relies on, checked on every runtime it is tested on: a
 * release that changes one of them fails here, before it shows as a reset in production. The
 * expected values are the README's runtime table; test/fixtures/internals.mjs reads them.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { installRuntimes, type RuntimeName, runtimeCommand } from '../../scripts/runtimes.mjs'

const FIXTURE = fileURLToPath(new URL('../fixtures/internals.mjs', import.meta.url))

const NODE = {
  handle: 'TCP',
  handleMethods: true,
  onconnectionWrapSeesAccepts: true,
  relisten: 0,
  backlogLowered: true,
  connectionsList: 'all/active/idle',
  httpMessageNamesResponse: true,
  warnings: []
}

/** Per runtime ('node' is the one running this test): what the fixture must print. */
const EXPECTED: Record<RuntimeName | 'node', Record<string, unknown>> = {
  node: { ...NODE, newConnectionIdle: false },
  node22: { ...NODE, newConnectionIdle: false },
  node24: { ...NODE, newConnectionIdle: false },
  // Node 26 lists a connection that has not sent a byte yet among the idle ones (see stopListening).
  node26: { ...NODE, newConnectionIdle: true },
  bun: {
    handle: null,
    handleMethods: false,
    onconnectionWrapSeesAccepts: null,
    relisten: null,
    backlogLowered: null,
    connectionsList: null,
    newConnectionIdle: null,
    httpMessageNamesResponse: true,
    warnings: [/^Bun \d+\.\d+\.\d+: its node:http servers have no listening handle \(server\._handle\) whose backlog graceful could lower, and their close\(\) resets/]
  },
  deno: {
    ...NODE,
    handle: 'TCPWrap',
    // listen(0) answers 0 and changes nothing: the listener closes after the quiet wait.
    backlogLowered: false,
    connectionsList: 'other shape',
    newConnectionIdle: null,
    warnings: [/^Deno \d+\.\d+\.\d+: its node:http listening handle keeps its backlog when graceful lowers it, so the listener closes after a quiet moment and resets/]
  }
}

const runtimes = Object.keys(EXPECTED).filter((name): name is RuntimeName => name !== 'node')

t.before(async () => { await installRuntimes(runtimes) })

for (const [name, expected] of Object.entries(EXPECTED)) {
  t.test(`${name}: the internals the drain relies on are as documented`, async (t) => {
    const { command, args } = name === 'node'
      ? { command: process.execPath, args: [FIXTURE] }
      : runtimeCommand(name as RuntimeName, FIXTURE)
    const { stdout } = await promisify(execFile)(command, args, { cwd: fileURLToPath(new URL('..', import.meta.url)), timeout: 60_000 })
    const found = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>
    const { warnings, ...rest } = expected
    const { warnings: foundWarnings, ...foundRest } = found
    t.same(foundRest, rest, 'handle, accept wrap, backlog change and its effect, connection list and socket._httpMessage')
    t.match(foundWarnings, warnings, 'createGraceful() warns of what does not hold here, and only there')
    t.equal((foundWarnings as unknown[]).length, (warnings as unknown[]).length, 'no other warning')
  })
}
