/**
 * Keep-alive request loops for the restart tests: every answer is recorded as the client saw it
 * (status and body, or the error code), so a test judges a restart by its failed requests only.
 * Loops are bounded (count and time) so a hang fails the test instead of stalling it.
 */
import { Pool } from 'undici'

export interface Outcome { status?: number, body?: string, error?: string }

export interface Load {
  /** Every answer so far. */
  readonly outcomes: Outcome[]
  /** Answers that were not 2xx, or errors. */
  failures: () => Outcome[]
  /** Resolves once a response body satisfies `match` (rejects after `timeoutMs`). */
  until: (match: (body: string) => boolean, what: string, timeoutMs?: number) => Promise<void>
  stop: () => Promise<void>
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** `loops` loops of GET `paths[i % paths.length]` over one keep-alive pool of `loops` connections. */
export function startLoad (origin: string, { loops = 8, paths = ['/pid'], pauseMs = 2, maxMs = 50_000 } = {}): Load {
  const pool = new Pool(origin, { connections: loops, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 })
  const outcomes: Outcome[] = []
  let stopped = false
  const startedAt = performance.now()
  const wake = new Set<() => void>()
  async function loop (path: string): Promise<void> {
    for (let i = 0; i < 100_000 && !stopped && performance.now() - startedAt < maxMs; i++) {
      try {
        const res = await pool.request({ method: 'GET', path, headersTimeout: 20_000, bodyTimeout: 20_000 })
        outcomes.push({ status: res.statusCode, body: await res.body.text() })
      } catch (error) {
        const e = error as { code?: string, message?: string }
        outcomes.push({ error: `${e.code ?? 'error'}: ${e.message ?? ''}` })
      }
      for (const w of [...wake]) w()
      await sleep(pauseMs)
    }
  }
  const running = Array.from({ length: loops }, (_, i) => loop(paths[i % paths.length] ?? '/'))
  return {
    outcomes,
    failures: () => outcomes.filter((o) => o.error !== undefined || (o.status ?? 0) >= 300),
    until: (match, what, timeoutMs = 20_000) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => { wake.delete(check); reject(new Error(`load: ${what} not seen within ${timeoutMs} ms`)) }, timeoutMs)
      let seen = 0
      const check = (): void => {
        for (; seen < outcomes.length; seen++) {
          const body = outcomes[seen]?.body
          if (body === undefined || !match(body)) continue
          clearTimeout(timer)
          wake.delete(check)
          return resolve()
        }
      }
      wake.add(check)
      check()
    }),
    async stop () {
      stopped = true
      await Promise.all(running)
      await pool.destroy()
    }
  }
}
