// The invalidation log in Postgres (db/migrations/2026-12-01-001-invalidation-log.ts):
// reading records, and each consumer's delivery progress. Every query here
// works on pg and PGlite alike.
import { type Kysely, sql } from 'kysely'
import type { Database, Db } from '../../db/database.js'
import { positionOfLsn } from '../../db/replica.js'

/** One log record: a tag a committed statement touched. tenantId null: every tenant. */
export interface LogRecord {
  seq: number
  tenantId: number | null
  tag: string
}

interface RecordRow {
  seq: number | string
  tenant_id: number | null
  tag: string
}

function toRecord(row: RecordRow): LogRecord {
  return { seq: Number(row.seq), tenantId: row.tenant_id, tag: row.tag }
}

/** The records the current transaction wrote so far (its triggers ran with its xid). */
export async function ownRecords(trx: Db): Promise<LogRecord[]> {
  const { rows } = await sql<RecordRow>`
    select seq, tenant_id, tag from invalidation_log
    where xid = pg_current_xact_id_if_assigned() order by seq`.execute(trx)
  return rows.map(toRecord)
}

/**
 * Writes records no trigger writes: an operator's invalidation (DELETE /cache,
 * the CLI), the seed's whole tenants. In the caller's transaction, so they are
 * delivered like a change's.
 */
export async function appendRecords(trx: Db, tenantId: number, tags: readonly string[]): Promise<void> {
  await sql`
    insert into invalidation_log (tenant_id, tag)
    values ${sql.join(tags.map((tag) => sql`(${tenantId}, ${tag})`))}`.execute(trx)
  await sql`select pg_notify('invalidation_' || current_schema(), '')`.execute(trx)
}

export interface LogWindow {
  /** Every transaction with an xid below this had ended when the records were read. */
  xmin: bigint
  /** No transaction with an xid at or above this had started. */
  xmax: bigint
  /** Records above the consumer's progress, in log order, as one snapshot saw them. */
  records: LogRecord[]
  /** The consumer's progress as stored (another instance may have moved it); undefined when not registered or dropped. */
  deliveredSeq: number | undefined
  /** With `withPosition`: the WAL insert position when the snapshot was taken, at or above every record's commit. */
  position?: string
}

/**
 * One snapshot: its horizon, the consumer's stored progress, and up to `limit`
 * records above `after`. One statement, so one snapshot sees all of it (no
 * transaction, one round trip: the relay runs this after every change).
 */
export async function readWindow(
  db: Kysely<Database>,
  consumer: string,
  after: number,
  limit: number,
  withPosition = false,
): Promise<LogWindow> {
  const { rows } = await sql<{
    xmin: string
    xmax: string
    delivered: number | string | null
    lsn: string | null
    records: [number | string, number | null, string][]
  }>`
    with consumer as (select delivered_seq from invalidation_consumers where name = ${consumer}),
    window_records as (
      select seq, tenant_id, tag from invalidation_log
      where seq > greatest(${after}::bigint, coalesce((select delivered_seq from consumer), 0))
      order by seq limit ${limit})
    select pg_snapshot_xmin(pg_current_snapshot())::text as xmin,
           pg_snapshot_xmax(pg_current_snapshot())::text as xmax,
           (select delivered_seq from consumer) as delivered,
           ${withPosition ? sql`pg_current_wal_insert_lsn()::text` : sql`null`} as lsn,
           coalesce((select json_agg(json_build_array(seq, tenant_id, tag) order by seq) from window_records),
                    '[]'::json) as records`.execute(db)
  const head = rows[0]
  return {
    xmin: BigInt(head.xmin),
    xmax: BigInt(head.xmax),
    records: head.records.map(([seq, tenant_id, tag]) => toRecord({ seq, tenant_id, tag })),
    deliveredSeq: head.delivered === null ? undefined : Number(head.delivered),
    position: head.lsn === null ? undefined : positionOfLsn(head.lsn),
  }
}

/**
 * Registers a consumer. A new one starts before every retained record
 * (replaying what is still in the log is harmless: deliveries are
 * idempotent). One that was dropped as stale starts there too and must reset
 * its store (`reset`): records it missed may be pruned.
 */
export async function registerConsumer(
  db: Kysely<Database>,
  consumer: string,
): Promise<{ deliveredSeq: number; reset: boolean }> {
  const { rows } = await sql<{ delivered_seq: number | string; was_dropped: boolean }>`
    with previous as (select dropped from invalidation_consumers where name = ${consumer})
    insert into invalidation_consumers as c (name, delivered_seq)
    values (${consumer}, coalesce((select min(seq) - 1 from invalidation_log), 0))
    on conflict (name) do update
      set dropped = false, heartbeat_at = now(),
          delivered_seq = case when c.dropped then excluded.delivered_seq else c.delivered_seq end
    returning delivered_seq, coalesce((select dropped from previous), false) as was_dropped`.execute(db)
  return { deliveredSeq: Number(rows[0].delivered_seq), reset: rows[0].was_dropped }
}

/** Removes a consumer that will never come back (a process's memory store, at shutdown). */
export async function unregisterConsumer(db: Kysely<Database>, consumer: string): Promise<void> {
  await sql`delete from invalidation_consumers where name = ${consumer}`.execute(db)
}

/** Moves the consumer's progress up (never down) and its heartbeat; false when its row is gone. */
export async function recordProgress(
  db: Kysely<Database>,
  consumer: string,
  deliveredSeq: number,
): Promise<boolean> {
  const result = await sql`
    update invalidation_consumers
    set delivered_seq = greatest(delivered_seq, ${deliveredSeq}), heartbeat_at = now()
    where name = ${consumer} and not dropped`.execute(db)
  return Number(result.numAffectedRows ?? 0) > 0
}

/** The consumer's stored progress (undefined when not registered). */
export async function deliveredSeq(db: Kysely<Database>, consumer: string): Promise<number | undefined> {
  const { rows } = await sql<{ delivered_seq: number | string }>`
    select delivered_seq from invalidation_consumers where name = ${consumer}`.execute(db)
  return rows.length === 0 ? undefined : Number(rows[0].delivered_seq)
}

/**
 * Marks consumers silent for longer than `staleSeconds` dropped (they reset
 * their store when they come back; a process's memory never comes back, its
 * row goes), then deletes every record each live consumer has.
 * Returns the number of records deleted.
 */
export async function prune(db: Kysely<Database>, staleSeconds: number): Promise<number> {
  await sql`
    update invalidation_consumers set dropped = true
    where not dropped and heartbeat_at < now() - make_interval(secs => ${staleSeconds})`.execute(db)
  await sql`delete from invalidation_consumers where dropped and name like 'memory:%'`.execute(db)
  const result = await sql`
    delete from invalidation_log
    where seq <= (select min(delivered_seq) from invalidation_consumers where not dropped)`.execute(db)
  return Number(result.numAffectedRows ?? 0)
}

/** Records in the log now (for tests and metrics). */
export async function logSize(db: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from invalidation_log`.execute(db)
  return rows[0].n
}
