/**
 * The OpenTelemetry bridge: when `@opentelemetry/api` can be loaded, it subscribes to graceful's
 * diagnostics channels and turns each report into spans and metrics, and each readiness check run
 * into a histogram point. The coordinator only publishes; it calls `enableTelemetry()` once per
 * creation and knows nothing else of OpenTelemetry.
 *
 * On by itself: the API does nothing until an SDK registers a global provider, so with the API but
 * no SDK a shutdown costs a few no-op calls, and without the API the channels keep no subscriber.
 *
 * Loading an optional peer from both builds: `import()` is the one form that works in each. The ESM
 * build keeps it (resolved from this file, like a static import), the CJS build's compiler turns it
 * into `require()` (resolved from this file too). `import.meta.url` would not compile to CommonJS,
 * and `require` does not exist in ESM. The specifier is a variable so that a bundler (esbuild,
 * webpack) leaves the import to run time instead of failing the build when the peer is absent.
 * The load is asynchronous, so the channels are subscribed at once and messages published meanwhile
 * wait for it: a shutdown started right after creation is recorded too. When the API is missing the
 * subscriptions go again.
 * @module
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { setTimeout as sleep } from 'node:timers/promises'
import type * as OTel from '@opentelemetry/api'
import type { ShutdownReport } from '../types.js'
import { CHECK_CHANNEL, type CheckRun, REPORT_CHANNEL } from './channels.js'
import { instruments, recordCheckMetrics, recordShutdownMetrics } from './otel-metrics.js'
import { recordShutdownSpans } from './otel-traces.js'

type Api = typeof OTel

const API_PACKAGE = '@opentelemetry/api'

// Channels are process-wide, so only one copy of graceful-core (ESM or CJS build, or another
// version) may subscribe, or each shutdown would be recorded twice. The first to enable owns it.
// The shape is a contract between versions: only ever add to it.
const kTelemetry = Symbol.for('graceful-core.telemetry')
interface Shared { owner: object | undefined }
const shared = ((globalThis as { [kTelemetry]?: Shared })[kTelemetry] ??= { owner: undefined })
const thisCopy = {}

let api: Api | undefined
let loading: Promise<Api | undefined> | undefined
/** The API could not be loaded from here: not tried again at each coordinator's creation. */
let unavailable = false
/** Recordings that waited for the API to load; a flush waits for them first. */
let queued: Promise<unknown> = Promise.resolve()

/**
 * Turns the bridge on for the process (idempotent; cheap to call at every coordinator creation).
 * With the API already loaded it also makes the instruments on the current global MeterProvider,
 * so an SDK registered before this coordinator was created gets the in-flight gauge at once.
 */
export function enableTelemetry (): void {
  if (api !== undefined) {
    guarded(api, (a) => { instruments(a) })
    return
  }
  if (unavailable || loading !== undefined || (shared.owner !== undefined && shared.owner !== thisCopy)) return
  shared.owner = thisCopy
  diagnosticsChannel.subscribe(REPORT_CHANNEL, onReport)
  diagnosticsChannel.subscribe(CHECK_CHANNEL, onCheck)
  const load = loadApi().then((found) => {
    if (loading !== load) return undefined // disabled meanwhile
    if (found === undefined) {
      unavailable = true
      stop() // and another copy (which may resolve it from elsewhere) may try
      return undefined
    }
    api = found
    guarded(found, (a) => { instruments(a) })
    return found
  })
  loading = load
}

/** Resolves true once the bridge records (the API loaded), false when it does not (no API, or another copy owns it). */
export async function telemetryReady (): Promise<boolean> {
  return (await loading) !== undefined
}

/** Turns the bridge off: no subscription is left. `enableTelemetry()` turns it on again. */
export function disableTelemetry (): void {
  if (shared.owner === thisCopy) stop()
}

/**
 * Exports what the SDK still buffers (a BatchSpanProcessor's spans, a push reader's metrics), at most
 * `timeoutMs`: the coordinator awaits it before it exits, right after the report was recorded.
 * An SDK shut down in a cleanup hook would lose the shutdown's own spans, which are made after the
 * hooks; this flush is why no hook needs to.
 */
export async function flushTelemetry (timeoutMs: number): Promise<void> {
  await queued
  const a = api
  if (a === undefined) return
  // The global tracer provider is the API's proxy; the SDK's provider is its delegate.
  const proxy = a.trace.getTracerProvider() as { getDelegate?: () => unknown }
  const providers = [typeof proxy.getDelegate === 'function' ? proxy.getDelegate() : proxy, a.metrics.getMeterProvider()]
  const flushes = providers.map(async (provider) => {
    const flush = (provider as { forceFlush?: () => Promise<void> } | undefined)?.forceFlush
    if (typeof flush === 'function') await flush.call(provider)
  })
  await Promise.race([Promise.allSettled(flushes), sleep(timeoutMs, undefined, { ref: false })])
}

function stop (): void {
  diagnosticsChannel.unsubscribe(REPORT_CHANNEL, onReport)
  diagnosticsChannel.unsubscribe(CHECK_CHANNEL, onCheck)
  api = undefined
  loading = undefined
  shared.owner = undefined
}

async function loadApi (): Promise<Api | undefined> {
  try {
    const loaded = await import(API_PACKAGE) as Api & { default?: Api }
    // Node's ESM view of this CommonJS package may keep the exports under `default` only.
    const found = typeof loaded.trace === 'object' ? loaded : loaded.default
    return typeof found?.trace?.getTracer === 'function' && typeof found.metrics?.getMeterProvider === 'function' ? found : undefined
  } catch {
    return undefined // not installed: an optional peer
  }
}

function onReport (message: unknown): void {
  const report = message as ShutdownReport
  withApi((a) => {
    recordShutdownSpans(a, report)
    recordShutdownMetrics(a, report)
  })
}

function onCheck (message: unknown): void {
  const run = message as CheckRun
  withApi((a) => { recordCheckMetrics(a, run) })
}

function withApi (record: (api: Api) => void): void {
  if (api !== undefined) return guarded(api, record)
  if (loading === undefined) return
  queued = Promise.all([queued, loading.then((a) => { if (a !== undefined) guarded(a, record) })])
}

/**
 * A subscriber that throws would surface as an uncaught exception in the middle of the shutdown
 * (diagnostics_channel rethrows on the next tick): telemetry problems go to OpenTelemetry's own
 * diagnostic logger instead.
 */
function guarded (a: Api, record: (api: Api) => void): void {
  try {
    record(a)
  } catch (error) {
    a.diag.error('graceful-core: recording telemetry failed', error)
  }
}
