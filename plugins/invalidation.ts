// Provides app.invalidation: `transact` runs a change in one transaction and,
// after the commit, delivers the invalidation-log records its triggers wrote
// (the fast path, one store round trip), or waits up to INVALIDATION_WAIT_MS
// for a relay (this instance's or another's) to deliver them; and the relay
// that delivers the whole log to this instance's store (docs/invalidation.md).
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { sql, type Transaction } from 'kysely'
import type { Database } from '../db/database.js'
import { walPosition } from '../db/replica.js'
import { deliverRecords } from '../src/invalidation/deliver.js'
import { appendRecords, deliveredSeq, type LogRecord, ownRecords } from '../src/invalidation/log.js'
import { InvalidationRelay } from '../src/invalidation/relay.js'
import { publishInvalidation } from '../src/invalidation-events.js'

export interface InvalidationOptions {
  redisPrefix: string
  /** Longest wait for another instance's relay when this one cannot reach the store. */
  waitMs: number
  pollIntervalMs: number
  pruneIntervalMs: number
  staleConsumerSeconds: number
  /** Deliver the primary's WAL position with the bumps (a read replica routes on it). */
  withPosition?: boolean
}

export interface Transacted<T> {
  result: T
  /** True when the wait bound passed before the records were delivered (they will be, later). */
  pending: boolean
}

export interface Invalidation {
  relay: InvalidationRelay
  /**
   * Runs `work` in one transaction; after the commit, resolves once the log
   * records its triggers wrote are delivered, or with `pending` past the wait bound.
   */
  transact<T>(reason: string, work: (trx: Transaction<Database>) => Promise<T>): Promise<Transacted<T>>
  /**
   * Invalidates `tags` of the tenant (`*`: all of it) through the log, as a
   * change would: every instance applies it, and no process can lose it.
   */
  record(reason: string, tenantId: number, tags: readonly string[]): Promise<{ pending: boolean }>
}

declare module 'fastify' {
  interface FastifyInstance {
    invalidation: Invalidation
  }
}

/** Progress is watched in Postgres at this interval while another relay delivers. */
const WATCH_INTERVAL_MS = 20

async function invalidation(app: FastifyInstance, opts: InvalidationOptions): Promise<void> {
  const cache = app.reportCache
  const shared = cache.store.backend === 'redis'
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(app.db)
  const channel = `invalidation_${rows[0].schema}`
  // The relay's own queries are background work: no plugin of app.db (query counters in tests) sees them.
  const logDb = app.db.withoutPlugins()
  const relay = new InvalidationRelay({
    db: logDb,
    cache,
    // A shared Redis keyspace is one consumer for every instance; a memory store is its process's own.
    consumer: shared ? `redis:${opts.redisPrefix}` : `memory:${randomUUID()}`,
    listen: (onNotify) => app.dbHandle.listen(channel, onNotify),
    pollIntervalMs: opts.pollIntervalMs,
    pruneIntervalMs: opts.pruneIntervalMs,
    staleConsumerSeconds: opts.staleConsumerSeconds,
    withPosition: opts.withPosition,
    onError: (err, operation) =>
      app.log.warn({ err: { message: (err as Error).message }, operation }, 'invalidation.relay.failure'),
  })
  await relay.start()

  async function watch(seq: number): Promise<boolean> {
    const deadline = Date.now() + opts.waitMs
    for (;;) {
      try {
        const p = await deliveredSeq(logDb, relay.consumer)
        if (p !== undefined && p >= seq) return true
      } catch {
        // Postgres hiccup: keep watching until the deadline.
      }
      if (Date.now() >= deadline) return false
      await new Promise((resolve) => setTimeout(resolve, WATCH_INTERVAL_MS))
    }
  }

  /** `settle` is told whether the records reached the store (the relay waits for it: always called). */
  async function deliver(records: LogRecord[], settle: (reached: boolean) => void): Promise<boolean> {
    let reached = false
    try {
      // Read after the commit, so at or above it (db/replica.ts). A bump without its position would
      // let a replica that lacks the change serve: unreadable, only the relay (with its own) delivers.
      const position = opts.withPosition ? await walPosition(logDb).catch(() => null) : undefined
      if (position !== null) reached = await deliverRecords(cache, records, position)
    } finally {
      settle(reached)
    }
    if (reached) return true
    // The store did not answer: this relay retries, other instances' relays deliver too.
    relay.wake()
    return watch(records[records.length - 1].seq)
  }

  const api: Invalidation = {
    relay,
    async transact(reason, work) {
      let settle: (reached: boolean) => void = () => {}
      const delivery = new Promise<boolean>((resolve) => {
        settle = resolve
      })
      const { result, records } = await app.db
        .transaction()
        .execute(async (trx) => {
          const result = await work(trx)
          const records = await ownRecords(trx)
          // Told before the commit makes them visible: the relay's round that sees these records
          // waits for this delivery instead of sending them again (settled below, whatever happens).
          relay.track(records, delivery)
          return { result, records }
        })
        .catch((err: unknown) => {
          settle(false)
          throw err
        })
      if (records.length === 0) {
        settle(true)
        return { result, pending: false }
      }
      const pending = !(await deliver(records, settle))
      if (pending) app.log.warn({ reason, records: records.length }, 'invalidation.pending')
      // One event per tenant the change touched (src/invalidation-events.ts).
      const byTenant = new Map<number | null, Set<string>>()
      for (const r of records) {
        const tags = byTenant.get(r.tenantId) ?? new Set<string>()
        tags.add(r.tag)
        byTenant.set(r.tenantId, tags)
      }
      for (const [tenantId, tags] of byTenant)
        publishInvalidation({ source: api, tenantId, tags: [...tags].sort(), reason, delivered: !pending })
      return { result, pending }
    },
    async record(reason, tenantId, tags) {
      const { pending } = await api.transact(reason, (trx) => appendRecords(trx, tenantId, tags))
      return { pending }
    },
  }
  app.decorate('invalidation', api)

  app.addHook('onClose', () => relay.stop({ unregister: !shared }))
}

export default fp(invalidation, { name: 'invalidation', dependencies: ['db', 'report-cache'] })
