// Coalescing helpers. In one process: callers share one running computation per
// key, but only when the running one is recent enough for them (a caller that
// started after an invalidation must not receive a result computed before it).
// Across processes, the orchestrator polls the store while another holds the lease.

interface Flight<T, M> {
  meta: M
  promise: Promise<T>
}

export class InFlight<T, M> {
  readonly #flights = new Map<string, Flight<T, M>>()
  #running = 0

  /**
   * Joins the running computation for `key` when `canJoin(itsMeta)` holds, else
   * starts `start()` and makes it the one later callers may join.
   */
  run(
    key: string,
    meta: M,
    canJoin: (running: M) => boolean,
    start: () => Promise<T>,
  ): { promise: Promise<T>; joined: boolean } {
    const running = this.#flights.get(key)
    if (running && canJoin(running.meta)) return { promise: running.promise, joined: true }
    const flight: Flight<T, M> = { meta, promise: Promise.resolve() as Promise<never> }
    this.#running++
    flight.promise = (async () => {
      try {
        return await start()
      } finally {
        this.#running--
        if (this.#flights.get(key) === flight) this.#flights.delete(key)
      }
    })()
    this.#flights.set(key, flight)
    return { promise: flight.promise, joined: false }
  }

  /** The running computation for `key`, if any. */
  running(key: string): M | undefined {
    return this.#flights.get(key)?.meta
  }

  /** Computations running, including ones a newer computation of the same key replaced. */
  get size(): number {
    return this.#running
  }
}

export interface PollOptions {
  /** Give up at this time (ms, same clock as `now`). */
  deadline: number
  initialDelayMs?: number
  maxDelayMs?: number
  now?: () => number
}

/**
 * Calls `attempt` until it returns a value or the deadline passes, backing off
 * exponentially between attempts. Returns undefined at the deadline.
 */
export async function pollUntil<T>(
  attempt: () => Promise<T | undefined>,
  options: PollOptions,
): Promise<T | undefined> {
  const now = options.now ?? Date.now
  let delay = options.initialDelayMs ?? 5
  const maxDelay = options.maxDelayMs ?? 50
  for (;;) {
    const value = await attempt()
    if (value !== undefined) return value
    const left = options.deadline - now()
    if (left <= 0) return undefined
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)))
    delay = Math.min(delay * 2, maxDelay)
  }
}
