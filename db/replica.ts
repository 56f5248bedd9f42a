// A Postgres streaming replica (DATABASE_REPLICA_URL) for report computations.
// A computation may read the replica only when the replica has replayed the
// commit of every change whose invalidation its stamp covers: the store keeps,
// per tenant, the primary's WAL position delivered with the bumps
// (src/cache/store.ts `position`), and the replica's `pg_last_wal_replay_lsn()`
// must be at or above it. Otherwise, and whenever the replica is down or lags
// past REPLICA_MAX_LAG_MS, the primary computes. Mutations, the invalidation
// log and access checks never come here: they use the primary (app.db).
import { type Kysely, sql } from 'kysely'
import type { Database, Db } from './database.js'

export type ReplicaState = 'up' | 'down' | 'lagging'

/** `16/B374D848` → `00000016B374D848`: fixed width, so positions compare as strings. */
export function positionOfLsn(lsn: string): string {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn)
  if (!match) throw new TypeError(`not a WAL position: ${lsn}`)
  return (match[1].padStart(8, '0') + match[2].padStart(8, '0')).toUpperCase()
}

/**
 * The primary's WAL insert position now: at or above the commit record of every
 * transaction committed (visible) before the call, whatever synchronous_commit says.
 */
export async function walPosition(db: Db): Promise<string> {
  const { rows } = await sql<{ lsn: string }>`select pg_current_wal_insert_lsn()::text as lsn`.execute(db)
  return positionOfLsn(rows[0].lsn)
}

/** What the store knows of a computation's stamp: its position, and how to record one read from the primary. */
export interface RequiredPosition {
  /** The store's position for the stamp; undefined when unknown. */
  known(): Promise<string | undefined>
  /** Records a position read from the primary after the stamp. */
  confirm(position: string): Promise<void>
}

export interface ReplicaRouterOptions {
  /** The primary as report computations use it (app.db): where they run when the replica may not serve. */
  primary: Kysely<Database>
  replica: Kysely<Database>
  /** Lagging: the replica has not replayed what the primary had written this long ago. */
  maxLagMs: number
  /** Health probe interval. Default 500 ms. */
  probeIntervalMs?: number
  /** A probe slower than this counts as the replica down. Default 1000 ms. */
  probeTimeoutMs?: number
  onStateChange?: (state: ReplicaState, previous: ReplicaState) => void
  onError?: (err: unknown, operation: string) => void
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export class ReplicaRouter {
  readonly primary: Kysely<Database>
  readonly replica: Kysely<Database>
  /** Report computations run on each side since start. */
  readonly computations = { replica: 0, primary: 0 }
  readonly #maxLagMs: number
  readonly #probeMs: number
  readonly #timeoutMs: number
  readonly #onStateChange: NonNullable<ReplicaRouterOptions['onStateChange']>
  readonly #onError: NonNullable<ReplicaRouterOptions['onError']>
  /** The primary for probes: background queries no plugin of app.db (test query counters) should see. */
  readonly #probeDb: Kysely<Database>
  #state: ReplicaState = 'down'
  /** Highest replay position seen on the replica (it only grows). */
  #replayed = ''
  /** Primary positions of recent probes, oldest first (to tell lag in time). */
  readonly #samples: { at: number; position: string }[] = []
  #timer: NodeJS.Timeout | undefined
  #stopped = false

  constructor(options: ReplicaRouterOptions) {
    this.primary = options.primary
    this.replica = options.replica
    this.#probeDb = options.primary.withoutPlugins()
    this.#maxLagMs = options.maxLagMs
    this.#probeMs = options.probeIntervalMs ?? 500
    this.#timeoutMs = options.probeTimeoutMs ?? 1000
    this.#onStateChange = options.onStateChange ?? (() => {})
    this.#onError = options.onError ?? (() => {})
  }

  get state(): ReplicaState {
    return this.#state
  }

  /** Probes once (so /health and routing start informed), then every probe interval. */
  async start(): Promise<void> {
    await this.probe()
    const loop = () => {
      if (this.#stopped) return
      this.#timer = setTimeout(() => void this.probe().finally(loop), this.#probeMs)
      this.#timer.unref()
    }
    loop()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
  }

  /** Reads both positions: down when the replica does not answer (or is no longer a replica), lagging past the bound. */
  async probe(): Promise<ReplicaState> {
    let next: ReplicaState
    try {
      const [primary] = await Promise.all([
        walPosition(this.#probeDb),
        within(this.#readReplay(), this.#timeoutMs, 'replica probe'),
      ])
      const now = Date.now()
      this.#samples.push({ at: now, position: primary })
      // Keep the newest sample at least maxLag old, and everything after it.
      while (this.#samples.length > 1 && this.#samples[1].at <= now - this.#maxLagMs) this.#samples.shift()
      const old = this.#samples[0]
      next = old.at <= now - this.#maxLagMs && this.#replayed < old.position ? 'lagging' : 'up'
    } catch (err) {
      this.#onError(err, 'probe')
      next = 'down'
    }
    this.#set(next)
    return next
  }

  /**
   * Runs a report computation on the replica when it has replayed `required`,
   * else on the primary. A failure on the replica is retried on the primary
   * (and marks the replica down until the next probe): never an error for the caller.
   */
  async compute<T>(required: RequiredPosition | undefined, work: (db: Db) => Promise<T>): Promise<T> {
    if (required && (await this.#hasReplayed(required))) {
      try {
        const result = await work(this.replica)
        this.computations.replica++
        return result
      } catch (err) {
        this.#onError(err, 'compute')
        this.#set('down')
      }
    }
    this.computations.primary++
    return work(this.primary)
  }

  async #hasReplayed(required: RequiredPosition): Promise<boolean> {
    if (this.#state !== 'up') return false
    try {
      let position = await required.known()
      if (position === undefined) {
        // Read after the stamp: covers every change delivered before it.
        position = await walPosition(this.#probeDb)
        await required.confirm(position)
      }
      if (this.#replayed >= position) return true
      await within(this.#readReplay(), this.#timeoutMs, 'replica replay position')
      return this.#replayed >= position
    } catch (err) {
      this.#onError(err, 'position')
      return false
    }
  }

  async #readReplay(): Promise<void> {
    const { rows } = await sql<{ lsn: string | null; recovering: boolean }>`
      select pg_last_wal_replay_lsn()::text as lsn, pg_is_in_recovery() as recovering`.execute(this.replica)
    // A promoted replica is no longer a copy of the primary: never read it.
    if (!rows[0].recovering || rows[0].lsn === null) throw new Error('the replica is not in recovery')
    const position = positionOfLsn(rows[0].lsn)
    if (position > this.#replayed) this.#replayed = position
  }

  #set(state: ReplicaState): void {
    const previous = this.#state
    if (state === previous) return
    this.#state = state
    this.#onStateChange(state, previous)
  }
}
