// A circuit breaker for the cache store: after `failureThreshold` consecutive
// failures it opens and callers skip the store at once (no waiting on a dead
// Redis); after `coolDownMs` one probe is let through (half-open); its success
// closes the circuit, its failure opens it for another cool-down.

export type BreakerState = 'closed' | 'open' | 'half-open'

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. Default 3. */
  failureThreshold?: number
  /** Time the circuit stays open before one probe. Default 1000 ms. */
  coolDownMs?: number
  /** Clock, injectable for tests. */
  now?: () => number
  /** Called on every change of state (one log line per change, not per failure). */
  onStateChange?: (state: BreakerState) => void
}

export class CircuitOpenError extends Error {
  constructor() {
    super('circuit open: the store is skipped until a probe succeeds')
    this.name = 'CircuitOpenError'
  }
}

export class CircuitBreaker {
  readonly #threshold: number
  readonly #coolDownMs: number
  readonly #now: () => number
  readonly #onStateChange: (state: BreakerState) => void
  #state: BreakerState = 'closed'
  #failures = 0
  #openedAt = 0
  #probeStartedAt: number | undefined

  constructor(options: BreakerOptions = {}) {
    this.#threshold = options.failureThreshold ?? 3
    this.#coolDownMs = options.coolDownMs ?? 1000
    this.#now = options.now ?? Date.now
    this.#onStateChange = options.onStateChange ?? (() => {})
    if (!(this.#threshold >= 1)) throw new RangeError('failureThreshold must be at least 1')
    if (!(this.#coolDownMs >= 0)) throw new RangeError('coolDownMs must not be negative')
  }

  get state(): BreakerState {
    return this.#state
  }

  /**
   * Whether a request may go to the store now. In half-open state only one probe
   * is in flight; a probe that never reported is replaced after another cool-down.
   */
  allowRequest(): boolean {
    const now = this.#now()
    if (this.#state === 'closed') return true
    if (this.#state === 'open') {
      if (now - this.#openedAt < this.#coolDownMs) return false
      this.#set('half-open')
      this.#probeStartedAt = now
      return true
    }
    if (this.#probeStartedAt === undefined || now - this.#probeStartedAt >= this.#coolDownMs) {
      this.#probeStartedAt = now
      return true
    }
    return false
  }

  onSuccess(): void {
    this.#set('closed')
    this.#failures = 0
    this.#probeStartedAt = undefined
  }

  onFailure(): void {
    this.#failures++
    if (this.#state === 'half-open' || this.#failures >= this.#threshold) {
      this.#set('open')
      this.#openedAt = this.#now()
      this.#probeStartedAt = undefined
    }
  }

  #set(state: BreakerState): void {
    if (state === this.#state) return
    this.#state = state
    this.#onStateChange(state)
  }

  /** Runs `fn` through the breaker; throws CircuitOpenError without calling it when open. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.allowRequest()) throw new CircuitOpenError()
    try {
      const value = await fn()
      this.onSuccess()
      return value
    } catch (err) {
      this.onFailure()
      throw err
    }
  }
}
