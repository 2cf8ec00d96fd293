import type { Logger, Task } from './types.js'

/**
 * Background work the shutdown waits for (a JoinSet): each task sees the shutdown signal and is
 * awaited during drain; what is still running at the drain deadline is counted as aborted.
 */
export class TaskSet {
  readonly #pending = new Set<Promise<void>>()
  readonly #logger: Logger
  #counting = false
  finished = 0
  failed = 0

  constructor (logger: Logger) {
    this.#logger = logger
  }

  get size (): number {
    return this.#pending.size
  }

  add (task: Task, signal: AbortSignal): void {
    // A function task starts at once; a synchronous throw becomes a rejection.
    const promise = new Promise((resolve) => { resolve(typeof task === 'function' ? task(signal) : task) })
      .then(() => {
        if (this.#counting) this.finished++
      }, (error: unknown) => {
        if (this.#counting) this.failed++
        this.#logger.error({ err: error }, 'tracked task failed')
      })
      .finally(() => this.#pending.delete(promise))
    this.#pending.add(promise)
  }

  /** From now on settled tasks are counted for the report. */
  startCounting (): void {
    this.#counting = true
  }

  /** Resolves once every task (including ones added meanwhile) has settled. */
  async settled (): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending)
  }
}
