/**
 * Static checks of the container image and the Kubernetes manifests of the example service
 * (no Docker engine or cluster needed): the probes hit the adapter's routes on the port the
 * service listens on, the platform's kill deadline leaves room for the whole graceful shutdown,
 * and the image runs node directly so that node receives SIGTERM.
 */
import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { parseAllDocuments } from 'yaml'
import { startService } from '../examples/service/src/child.mjs'
import { loadConfig } from '../examples/service/src/config.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const read = (path: string): string => readFileSync(`${root}/${path}`, 'utf8')

// ---------------------------------------------------------------------------------------------
// Kubernetes manifests

interface EnvVar { name: string, value?: string }
interface Port { name?: string, containerPort: number }
interface HttpProbe { httpGet?: { path?: string, port?: number | string } }
interface Container {
  name: string
  image?: string
  command?: string[]
  args?: string[]
  ports?: Port[]
  env?: EnvVar[]
  readinessProbe?: HttpProbe
  livenessProbe?: HttpProbe
  startupProbe?: HttpProbe
  securityContext?: { runAsNonRoot?: boolean, runAsUser?: number }
}
interface PodSpec {
  terminationGracePeriodSeconds?: number
  securityContext?: { runAsNonRoot?: boolean, runAsUser?: number }
  containers: Container[]
}
interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string }
  spec: Record<string, unknown>
}

function loadManifests (path: string): Manifest[] {
  return parseAllDocuments(read(path)).map(doc => {
    t.equal(doc.errors.length, 0, `${path} parses as YAML`)
    return doc.toJS() as Manifest
  })
}

const manifests = [...loadManifests('docker/k8s/deployment.yaml'), ...loadManifests('docker/k8s/service.yaml')]
const deployment = manifests.find(m => m.kind === 'Deployment')
const service = manifests.find(m => m.kind === 'Service')
if (!deployment || !service) throw new Error('docker/k8s must hold a Deployment and a Service')

const template = deployment.spec.template as { metadata: { labels: Record<string, string> }, spec: PodSpec }
const pod = template.spec
const container = pod.containers[0]
if (!container) throw new Error('the Deployment has no container')
const env: Record<string, string> = Object.fromEntries((container.env ?? []).map(e => [e.name, String(e.value ?? '')]))
/** The settings exactly as the example service reads them from this environment. */
const config = loadConfig(env)

/** Resolves a probe or Service port (number or port name) to the container port number. */
function containerPortOf (port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port
  return container?.ports?.find(p => p.name === port)?.containerPort
}

const servicePort = config.port

t.test('the container port is the port the service listens on (PORT)', async t => {
  t.ok(env.PORT, 'PORT is set in the Deployment')
  t.same(container.ports?.map(p => p.containerPort), [servicePort], 'the one container port is PORT')
  t.equal(config.host, '0.0.0.0', 'listens on all interfaces inside the pod')
})

t.test('readinessProbe asks GET /ready and livenessProbe asks GET /health on the service port', async t => {
  t.equal(container.readinessProbe?.httpGet?.path, '/ready')
  t.equal(containerPortOf(container.readinessProbe?.httpGet?.port), servicePort)
  t.equal(container.livenessProbe?.httpGet?.path, '/health', 'liveness stays 200 while draining')
  t.equal(containerPortOf(container.livenessProbe?.httpGet?.port), servicePort)
})

t.test('startupProbe asks GET /ready (503 until startup tasks resolved) and outlasts the 60 s startupTimeoutMs', async t => {
  const probe = container.startupProbe as (HttpProbe & { periodSeconds?: number, failureThreshold?: number }) | undefined
  t.equal(probe?.httpGet?.path, '/ready', '/health would answer 200 at once and gate nothing')
  t.equal(containerPortOf(probe?.httpGet?.port), servicePort)
  t.ok((probe?.periodSeconds ?? 10) * (probe?.failureThreshold ?? 3) > 60, 'graceful\'s own startup deadline fires first and names the task')
})

t.test('the Service selects the pods and targets the service port', async t => {
  const spec = service.spec as { selector: Record<string, string>, ports: { port: number, targetPort: number | string }[] }
  for (const [key, value] of Object.entries(spec.selector)) {
    t.equal(template.metadata.labels[key], value, `pod template has label ${key}=${value}`)
  }
  t.equal(spec.ports.length, 1)
  t.equal(containerPortOf(spec.ports[0]?.targetPort), servicePort)
})

/**
 * How many cleanup and persist hooks run at shutdown (each may use up to HOOK_TIMEOUT_MS): those the
 * example registers, plus the one fastify-graceful adds to close fastify itself.
 */
const ADAPTER_HOOKS = 1
function hookCount (): number {
  const source = read('examples/service/src/service.mjs')
  return (source.match(/graceful\.on(Cleanup|Persist)\(/g) ?? []).length + ADAPTER_HOOKS
}

t.test('terminationGracePeriodSeconds exceeds pre-stop + grace period + hook timeouts', async t => {
  const g = config.graceful
  // Every number of the rule must be set explicitly, by the env names the service reads.
  for (const option of ['preStopDelayMs', 'preStopMaxMs', 'gracePeriodMs', 'hookTimeoutMs', 'terminationGracePeriodMs'] as const) {
    t.type(g[option], 'number', `${option} is configured`)
  }
  const tgps = pod.terminationGracePeriodSeconds
  if (typeof tgps !== 'number') throw new Error('terminationGracePeriodSeconds is not set')
  const preStopMs = Math.max(g.preStopDelayMs ?? 0, g.preStopMaxMs ?? 0)
  const hooks = hookCount()
  t.ok(hooks >= 4, `the service's hooks and the adapter's (${hooks}) are counted`)
  const worstCaseMs = preStopMs + (g.gracePeriodMs ?? 0) + hooks * (g.hookTimeoutMs ?? 0)
  t.ok(tgps * 1000 > worstCaseMs,
    `terminationGracePeriodSeconds ${tgps} s > pre-stop ${preStopMs} + grace ${g.gracePeriodMs} + ${hooks} hooks × ${g.hookTimeoutMs} = ${worstCaseMs} ms`)
  t.ok(tgps * 1000 > (g.gracePeriodMs ?? 0), 'the kill deadline exceeds the grace period')
  t.equal(g.terminationGracePeriodMs, tgps * 1000, 'TERMINATION_GRACE_PERIOD_SECONDS matches the pod spec')
  t.ok((g.preStopDelayMs ?? 0) >= 1000, 'pre-stop keeps serving while endpoint removal propagates')
})

t.test('the pod runs the image entry as a non-root user and does not wrap node', async t => {
  t.notOk(container.command, 'no command override: the image CMD runs node as PID 1')
  t.notOk(container.args, 'no args override')
  t.equal(pod.securityContext?.runAsNonRoot, true)
  t.not(pod.securityContext?.runAsUser, 0)
})

t.test('the service accepts the Deployment\'s settings: no start-up warning, probes answer 200', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'graceful-k8s-env-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const service = await startService({
    // As in the pod, except where it must differ on a test machine: address, port, file.
    env: { ...env, KUBERNETES_SERVICE_HOST: '10.0.0.1', HOST: '127.0.0.1', PORT: '0', DB_PATH: join(dir, 'service.db') },
    onStart: s => t.teardown(() => s.kill())
  })
  const warnings = service.lines.filter(l => typeof l.level === 'number' && l.level >= 40)
  t.same(warnings, [], 'graceful-core logs no budget warning for these numbers')
  for (const path of [container.readinessProbe?.httpGet?.path, container.livenessProbe?.httpGet?.path]) {
    const res = await request(`${service.url}${path}`)
    await res.body.text()
    t.equal(res.statusCode, 200, `GET ${path} answers 200 while running`)
  }
})

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction { keyword: string, args: string }

/** Splits a Dockerfile into stages of instructions (comments dropped, continuations joined). */
function parseDockerfile (text: string): Instruction[][] {
  const logical: string[] = []
  let current = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' '
      continue
    }
    logical.push(current + line)
    current = ''
  }
  if (current) logical.push(current)
  const stages: Instruction[][] = []
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/.exec(line)
    if (!match) continue
    const instruction = { keyword: (match[1] ?? '').toUpperCase(), args: (match[2] ?? '').trim() }
    if (instruction.keyword === 'FROM') stages.push([])
    stages.at(-1)?.push(instruction)
  }
  return stages
}

const stages = parseDockerfile(read('docker/Dockerfile'))
const final = stages.at(-1) ?? []
const last = (keyword: string): Instruction | undefined => final.filter(i => i.keyword === keyword).at(-1)

t.test('the image is multi-stage and deploys production dependencies only', async t => {
  t.ok(stages.length >= 2, 'a build stage and a runtime stage')
  const build = stages.slice(0, -1).flat().map(i => i.args).join('\n')
  t.match(build, /pnpm[^\n]*\bdeploy\b[^\n]*--prod/, 'pnpm deploy --prod lays out the example with production dependencies')
  t.ok(final.some(i => i.keyword === 'COPY' && /--from=/.test(i.args)), 'the runtime stage copies the deployed folder from the build stage')
  t.notOk(final.some(i => i.keyword === 'RUN' && /\b(pnpm|npm|yarn)\s+(install|ci|i)\b/.test(i.args)), 'nothing is installed in the runtime stage')
})

t.test('the image entry runs node directly (exec form), so node receives SIGTERM', async t => {
  t.notOk(final.some(i => i.keyword === 'ENTRYPOINT'), 'no ENTRYPOINT wrapper')
  const cmd = last('CMD')
  if (!cmd) throw new Error('no CMD in the runtime stage')
  t.ok(cmd.args.startsWith('['), 'CMD is in exec form (a JSON array), not run through /bin/sh')
  const argv = JSON.parse(cmd.args) as string[]
  t.equal(argv[0], 'node', 'the first word is node, no npm/pnpm start or shell wrapper')
  const script = argv[1]
  t.ok(script && existsSync(`${root}/examples/service/${script}`), `the entry ${script} exists in examples/service`)
  const stopsignal = last('STOPSIGNAL')
  if (stopsignal) t.equal(stopsignal.args, 'SIGTERM')
})

t.test('the image runs as a non-root user and listens on the port Kubernetes probes', async t => {
  const user = last('USER')?.args
  t.ok(user, 'USER is set in the runtime stage')
  t.notMatch(user ?? '', /^(root|0)(:|$)/, 'USER is not root')
  t.equal(pod.securityContext?.runAsUser, Number(user?.split(':')[0]), 'the pod runs as the image user')
  const expose = final.filter(i => i.keyword === 'EXPOSE').flatMap(i => i.args.split(/\s+/)).map(p => Number.parseInt(p, 10))
  t.same(expose, [servicePort], 'EXPOSE matches the container port')
  const envLine = final.filter(i => i.keyword === 'ENV').map(i => i.args).join(' ')
  t.match(envLine, new RegExp(`\\bPORT=${servicePort}\\b`), 'the image default PORT matches')
})

t.test('.dockerignore keeps host node_modules and build output out of the context', async t => {
  const patterns = read('.dockerignore').split('\n').map(l => l.trim()).filter(l => l && !l.startsWith('#'))
  t.ok(patterns.includes('**/node_modules'), 'node_modules of every workspace project')
  t.ok(patterns.includes('**/dist'), 'compiled output is rebuilt in the image')
  t.ok(patterns.includes('.git'))
  for (const needed of ['pnpm-lock.yaml', 'pnpm-workspace.yaml', 'package.json', 'packages', 'examples', 'examples/service']) {
    t.notOk(patterns.includes(needed), `${needed} stays in the context`)
  }
})

// ---------------------------------------------------------------------------------------------
// Docker Compose (outside Kubernetes): docker stop SIGKILLs 10 s after SIGTERM unless
// stop_grace_period says otherwise, far less than graceful's 30 s budget.

interface ComposeService {
  build?: { context?: string, dockerfile?: string }
  command?: unknown
  entrypoint?: unknown
  stop_signal?: string
  stop_grace_period?: string
  environment?: Record<string, string>
  healthcheck?: { test?: string[] }
  depends_on?: Record<string, { condition?: string }>
  volumes?: string[]
}

/** Compose durations: '55s', '1m30s', '500ms'. */
function composeDurationMs (value: string | undefined): number {
  if (value === undefined) return 10_000 // Docker's default
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  let total = 0
  for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(n) * (units[unit ?? 's'] ?? 0)
  return total
}

const composeDoc = parseAllDocuments(read('docker/compose.yaml'), { merge: true })[0]
const compose = composeDoc?.toJS({ maxAliasCount: 100 }) as { services: Record<string, ComposeService> }
const apps = Object.entries(compose.services).filter(([name]) => name.startsWith('app'))

t.test('docker/compose.yaml parses, with two app replicas built from docker/Dockerfile behind nginx', async t => {
  t.equal(composeDoc?.errors.length, 0)
  t.equal(apps.length, 2)
  for (const [name, service] of apps) {
    t.equal(service.build?.dockerfile, 'docker/Dockerfile', `${name} builds the image`)
    t.ok(existsSync(join(root, 'docker', service.build?.context ?? '', 'docker/Dockerfile')), `${name}'s build context is the repository root`)
    t.notOk(service.command ?? service.entrypoint, `${name} keeps the image's exec-form CMD (node is PID 1)`)
  }
  const nginx = compose.services.nginx
  t.same(Object.keys(nginx?.depends_on ?? {}).sort(), apps.map(([name]) => name).sort(), 'nginx waits for both replicas')
  t.ok(Object.values(nginx?.depends_on ?? {}).every(d => d.condition === 'service_healthy'), 'until they are ready')
})

t.test('stop_grace_period of each replica outlasts pre-stop + grace period + hook timeouts, and graceful knows it', async t => {
  for (const [name, service] of apps) {
    const g = loadConfig(service.environment ?? {}).graceful
    const stopMs = composeDurationMs(service.stop_grace_period)
    t.not(service.stop_grace_period, undefined, `${name}: stop_grace_period is set (docker's default is 10 s)`)
    const worstCaseMs = Math.max(g.preStopDelayMs ?? 0, g.preStopMaxMs ?? 0) + (g.gracePeriodMs ?? 30_000) + hookCount() * (g.hookTimeoutMs ?? 5000)
    t.ok(stopMs > worstCaseMs, `${name}: stop_grace_period ${stopMs} ms > ${worstCaseMs} ms`)
    t.equal(g.terminationGracePeriodMs, stopMs, `${name}: TERMINATION_GRACE_PERIOD_SECONDS matches stop_grace_period`)
    t.ok(service.stop_signal === undefined || service.stop_signal === 'SIGTERM', `${name}: stops with SIGTERM`)
    const probe = (service.healthcheck?.test ?? []).join(' ')
    t.match(probe, new RegExp(`127\\.0\\.0\\.1:${service.environment?.PORT}/ready`), `${name}: the healthcheck asks /ready on PORT`)
  }
})

t.test('docker/nginx.conf sends to both replicas on their port and retries only what was never sent', async t => {
  const conf = read('docker/nginx.conf')
  for (const [name, service] of apps) t.match(conf, new RegExp(`server ${name}:${service.environment?.PORT}\\b`), `upstream has ${name}`)
  t.match(conf, /proxy_next_upstream error timeout;/)
  t.notMatch(conf, /non_idempotent/, 'a POST that reached a replica is never replayed')
  t.match(conf, /proxy_set_header Connection "";/, 'upstream keep-alive')
})

t.test('the service accepts the compose settings: no start-up warning', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'graceful-compose-env-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const [, app] = apps[0] ?? []
  const service = await startService({
    env: { ...app?.environment, HOST: '127.0.0.1', PORT: '0', DB_PATH: join(dir, 'service.db') },
    onStart: s => t.teardown(() => s.kill())
  })
  t.same(service.lines.filter(l => typeof l.level === 'number' && l.level >= 40), [])
})
