// Whether Redis is usable, as operators read it in the log: one line when it
// goes down (host and reason), one when it is back (how long, how many
// failures meanwhile); every failure in between is only counted. Fed by the
// client's connection events and by the store's circuit breaker.

export interface StateLogger {
  warn(obj: object, msg: string): void
  info(obj: object, msg: string): void
}

export interface FailureReason {
  message: string
  code?: string
}

/** The message and code of an error (of its cause too), never its stack: a reason, not a bug report. */
export function reasonOf(err: unknown): FailureReason {
  if (!(err instanceof Error)) {
    const given = err as Partial<FailureReason> | null
    if (typeof given?.message === 'string')
      return typeof given.code === 'string'
        ? { message: given.message, code: given.code }
        : { message: given.message }
    return { message: String(err) }
  }
  const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code
  return typeof code === 'string' ? { message: err.message, code } : { message: err.message }
}

export class RedisState {
  readonly host: string
  readonly #log: StateLogger
  #down = false
  #since = 0
  #failures = 0
  #lastReason: FailureReason | undefined

  constructor(host: string, log: StateLogger) {
    this.host = host
    this.#log = log
  }

  get isDown(): boolean {
    return this.#down
  }

  /** The last failure seen (for messages such as the CLI's). */
  get lastReason(): FailureReason | undefined {
    return this.#lastReason
  }

  /** A failure: remembered and counted; logged only when it changes the state. */
  failure(err: unknown): void {
    this.#lastReason = reasonOf(err)
    this.#failures++
  }

  /** Redis is not usable. `message` names the situation (e.g. unavailable at start). */
  down(err?: unknown, message = 'cache.redis.down'): void {
    if (err !== undefined) this.#lastReason = reasonOf(err)
    if (this.#down) return
    this.#down = true
    this.#since = Date.now()
    this.#failures = 0
    this.#log.warn({ host: this.host, reason: this.#lastReason ?? { message: 'unknown' } }, message)
  }

  up(): void {
    if (!this.#down) return
    this.#down = false
    this.#log.info(
      { host: this.host, down_ms: Date.now() - this.#since, failures: this.#failures },
      'cache.redis.back',
    )
  }
}
