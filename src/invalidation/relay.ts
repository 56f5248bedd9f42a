// The relay: runs on every instance and delivers the invalidation log to this
// instance's store (the shared Redis keyspace, or this process's memory), in
// log order, recording progress in Postgres. Woken by NOTIFY (a wake-up only),
// with a slow poll as backstop; deliveries are idempotent, so any number of
// relays may deliver the same record.
//
// Progress `p` means every record with seq <= p has reached the store. Seqs
// are taken before commit, so a record can become visible after a higher one:
// a missing seq (a gap) is passed only once every transaction that could still
// commit it has ended (the snapshot's xmin passed the xmax of the snapshot that
// first saw the gap), or when it shows up and is delivered.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import type { TaggedCache } from '../cache/cache.js'
import { deliverRecords } from './deliver.js'
import {
  type LogRecord,
  type LogWindow,
  prune,
  readWindow,
  recordProgress,
  registerConsumer,
  unregisterConsumer,
} from './log.js'

export interface RelayOptions {
  db: Kysely<Database>
  cache: TaggedCache
  /** Who applies the log: `redis:<prefix>` (shared by every instance) or `memory:<uuid>`. */
  consumer: string
  /** Starts listening; resolves to a function that stops. Absent: polling only. */
  listen?: (onNotify: () => void) => Promise<() => Promise<void>>
  /** Backstop poll and heartbeat interval. Default 1000 ms. */
  pollIntervalMs?: number
  /** How often delivered records are pruned. Default 5000 ms. */
  pruneIntervalMs?: number
  /** A consumer silent this long is dropped (and resets its store when it returns). Default 60 s. */
  staleConsumerSeconds?: number
  /** Records read per snapshot. Default 5000. */
  batchSize?: number
  /** Deliver the WAL position with the records (a read replica is in use). Default false. */
  withPosition?: boolean
  onError?: (err: unknown, operation: string) => void
}

const GAP_RECHECK_MS = 20

export class InvalidationRelay {
  readonly consumer: string
  readonly #db: Kysely<Database>
  readonly #cache: TaggedCache
  readonly #listen: RelayOptions['listen']
  readonly #pollMs: number
  readonly #pruneMs: number
  readonly #staleSeconds: number
  readonly #batch: number
  readonly #withPosition: boolean
  readonly #onError: (err: unknown, operation: string) => void
  #progress = 0
  /** Delivered records above #progress. */
  readonly #delivered = new Set<number>()
  /** Deliveries of changes' own records under way (`track`), by seq. */
  readonly #inFlight = new Map<number, Promise<boolean>>()
  /** Missing seqs above #progress: the xmax of the snapshot that first missed them. */
  readonly #gaps = new Map<number, bigint>()
  #running: Promise<void> | undefined
  #again = false
  #timer: NodeJS.Timeout | undefined
  #unlisten: (() => Promise<void>) | undefined
  #lastPrune = 0
  #stopped = false
  /** Registered (progress known) since start or since the row was found missing. */
  #joined = false
  /** A reset the store still owes (it could not be reached): nothing is delivered before it. */
  #resetPending = false

  constructor(options: RelayOptions) {
    this.consumer = options.consumer
    this.#db = options.db
    this.#cache = options.cache
    this.#listen = options.listen
    this.#pollMs = options.pollIntervalMs ?? 1000
    this.#pruneMs = options.pruneIntervalMs ?? 5000
    this.#staleSeconds = options.staleConsumerSeconds ?? 60
    this.#batch = options.batchSize ?? 5000
    this.#withPosition = options.withPosition ?? false
    this.#onError = options.onError ?? (() => {})
  }

  /** Registers the consumer, starts listening and polling, and runs a first delivery. Never throws. */
  async start(): Promise<void> {
    if (this.#listen) {
      try {
        this.#unlisten = await this.#listen(() => this.wake())
      } catch (err) {
        // Polling still delivers, only later.
        this.#onError(err, 'listen')
      }
    }
    this.#schedule()
    await this.drain()
  }

  /** Asks for a delivery round (coalesced with one already running). */
  wake(): void {
    void this.drain()
  }

  /** Runs delivery rounds until nothing asked for another; never throws. */
  drain(): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    if (this.#running) {
      this.#again = true
      return this.#running
    }
    this.#running = (async () => {
      do {
        this.#again = false
        try {
          await this.#round()
        } catch (err) {
          this.#onError(err, 'deliver')
        }
      } while (this.#again && !this.#stopped)
    })().finally(() => {
      this.#running = undefined
      // A gap is passed once the transactions around it ended: look again soon, not at the next poll.
      if (this.#gaps.size > 0 && !this.#stopped) setTimeout(() => this.wake(), GAP_RECHECK_MS).unref()
    })
    return this.#running
  }

  /**
   * A delivery the caller makes itself, after its commit, of records it wrote
   * (a change's own). Called before that commit makes them visible, so no
   * round can see them first. A round that reads them waits for it and, when
   * it reached the store, moves progress over those records without
   * delivering them a second time. `delivery` must settle.
   */
  track(records: readonly LogRecord[], delivery: Promise<boolean>): void {
    for (const r of records) this.#inFlight.set(r.seq, delivery)
    const settle = (reached: boolean) => {
      for (const r of records) {
        if (this.#inFlight.get(r.seq) === delivery) this.#inFlight.delete(r.seq)
        if (reached && r.seq > this.#progress) this.#delivered.add(r.seq)
      }
    }
    delivery.then(settle, () => settle(false))
  }

  /** Progress this process knows of (every seq <= it reached the store). */
  get progress(): number {
    return this.#progress
  }

  async stop(options: { unregister?: boolean } = {}): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    await this.#unlisten?.().catch(() => {})
    await this.#running
    if (options.unregister) {
      await unregisterConsumer(this.#db, this.consumer).catch((err: unknown) =>
        this.#onError(err, 'unregister'),
      )
    }
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      void this.drain().finally(() => this.#schedule())
    }, this.#pollMs)
    this.#timer.unref()
  }

  /** (Re)registers; a consumer whose row was missing may have missed pruned records: reset its store. */
  async #join(): Promise<void> {
    const { deliveredSeq, reset } = await registerConsumer(this.#db, this.consumer)
    if (reset) this.#resetPending = true
    this.#joined = true
    this.#progress = deliveredSeq
    this.#delivered.clear()
    this.#gaps.clear()
  }

  async #round(): Promise<void> {
    for (;;) {
      if (!this.#joined) await this.#join()
      if (this.#resetPending) {
        await this.#cache.reset()
        this.#resetPending = false
      }
      const window = await readWindow(
        this.#db,
        this.consumer,
        this.#progress,
        this.#batch,
        this.#withPosition,
      )
      if (window.deliveredSeq === undefined) {
        // Dropped as stale while this process was away: records may be gone.
        this.#joined = false
        this.#resetPending = true
        continue
      }
      if (window.deliveredSeq > this.#progress) this.#moveTo(window.deliveredSeq)
      // track's settle runs before this await resumes: it subscribed first.
      const under = new Set(window.records.map((r) => this.#inFlight.get(r.seq)))
      under.delete(undefined)
      if (under.size > 0) await Promise.allSettled(under)
      const fresh = window.records.filter((r) => !this.#delivered.has(r.seq))
      if (!(await deliverRecords(this.#cache, fresh, window.position))) {
        // The store is unreachable: keep the heartbeat, retry on the next wake-up or poll.
        await recordProgress(this.#db, this.consumer, this.#progress)
        return
      }
      for (const r of fresh) this.#delivered.add(r.seq)
      this.#advance(window)
      if (!(await recordProgress(this.#db, this.consumer, this.#progress))) {
        this.#joined = false
        this.#resetPending = true
        continue
      }
      if (Date.now() - this.#lastPrune >= this.#pruneMs) {
        this.#lastPrune = Date.now()
        await prune(this.#db, this.#staleSeconds)
      }
      if (window.records.length < this.#batch) return
    }
  }

  /** Moves progress over delivered seqs and over gaps no transaction can fill any more. */
  #advance(window: LogWindow): void {
    const top = window.records.at(-1)?.seq ?? this.#progress
    let p = this.#progress
    let contiguous = true
    for (let seq = this.#progress + 1; seq <= top; seq++) {
      if (this.#delivered.has(seq)) {
        if (contiguous) p = seq
        continue
      }
      const seenAt = this.#gaps.get(seq)
      if (seenAt === undefined) this.#gaps.set(seq, window.xmax)
      else if (window.xmin >= seenAt) {
        // Every transaction that could have written it has ended: it never will.
        if (contiguous) p = seq
        continue
      }
      contiguous = false
    }
    this.#moveTo(p)
  }

  #moveTo(p: number): void {
    this.#progress = p
    for (const seq of this.#delivered) if (seq <= p) this.#delivered.delete(seq)
    for (const seq of this.#gaps.keys()) if (seq <= p) this.#gaps.delete(seq)
  }
}
