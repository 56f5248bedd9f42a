// The summary tables (migrations 2026-12-01-002-aggregates, -003, -004 and 2026-12-03-005) recomputed from the
// raw rows: rebuild replaces them, check compares them. Rows whose counters
// are all zero (left behind by deletions) are the same as no row.
import { type Kysely, sql } from 'kysely'
import type { Database, Db } from './database.js'

const SHARDS = 8

const FRESH_WORK_DAY = `
  select s.tenant_id, s.assignment_id, (s.submitted_at at time zone 'UTC')::date as day, a.class_id,
    count(*)::int as n, count(s.score)::int as graded,
    (count(*) filter (where s.submitted_at <= a.due_at))::int as on_time,
    coalesce(sum(s.score / a.max_score * 100), 0) as sum_pct
  from submissions s join assignments a on a.id = s.assignment_id
  group by 1, 2, 3, 4`

/** Per enrollment: the student's percent summed over the class's materials. */
const FRESH_PROGRESS_ENROLLMENT = `
  select e.class_id, e.student_id, coalesce(pr.total, 0) as sum_percent
  from enrollments e
  left join (
    select m.class_id, mp.student_id, sum(mp.percent) as total
    from material_progress mp join materials m on m.id = mp.material_id
    group by 1, 2
  ) pr on pr.class_id = e.class_id and pr.student_id = e.student_id`

const COUNTERS = 'n, graded, on_time, sum_pct'
/** The counters of fresh_work_day rows summed, under their own names. */
const SUMS =
  'sum(n)::int as n, sum(graded)::int as graded, sum(on_time)::int as on_time, sum(sum_pct) as sum_pct'
const NO_WORK = 'n = 0 and graded = 0 and on_time = 0 and sum_pct = 0'
const rollUp = (keys: string) =>
  `select ${keys}, (assignment_id % ${SHARDS})::smallint as shard, ${SUMS}
   from fresh_work_day group by ${keys}, assignment_id % ${SHARDS}`

interface Summary {
  table: string
  columns: string
  /** The fresh rows; may read the CTE fresh_work_day. */
  fresh: string
  /** Rows that carry no data. */
  empty: string
}

const SUMMARIES: Summary[] = [
  {
    table: 'agg_work_day',
    columns: `tenant_id, assignment_id, day, class_id, ${COUNTERS}`,
    fresh: `select tenant_id, assignment_id, day, class_id, ${COUNTERS} from fresh_work_day`,
    empty: NO_WORK,
  },
  {
    table: 'agg_work_tenant_day',
    columns: `tenant_id, day, shard, ${COUNTERS}`,
    fresh: rollUp('tenant_id, day'),
    empty: NO_WORK,
  },
  {
    table: 'agg_work_class',
    columns: `tenant_id, class_id, ${COUNTERS}`,
    fresh: `select tenant_id, class_id, ${SUMS} from fresh_work_day group by 1, 2`,
    empty: NO_WORK,
  },
  {
    table: 'agg_work_class_month',
    columns: `tenant_id, class_id, month, ${COUNTERS}`,
    fresh: `select tenant_id, class_id, date_trunc('month', day)::date as month, ${SUMS}
      from fresh_work_day group by 1, 2, 3`,
    empty: NO_WORK,
  },
  {
    table: 'agg_work_student_month',
    columns: `tenant_id, student_id, month, ${COUNTERS}`,
    fresh: `select s.tenant_id, s.student_id, date_trunc('month', s.submitted_at at time zone 'UTC')::date as month,
        count(*)::int as n, count(s.score)::int as graded,
        (count(*) filter (where s.submitted_at <= a.due_at))::int as on_time,
        coalesce(sum(s.score / a.max_score * 100), 0) as sum_pct
      from submissions s join assignments a on a.id = s.assignment_id
      group by 1, 2, 3`,
    empty: NO_WORK,
  },
  {
    table: 'agg_progress_enrollment',
    columns: 'class_id, student_id, sum_percent',
    fresh: FRESH_PROGRESS_ENROLLMENT,
    // Every enrollment has its row, even at 0 %.
    empty: 'false',
  },
  {
    table: 'agg_progress_class',
    columns: 'class_id, shard, enrolled, sum_percent',
    fresh: `select class_id, (student_id % ${SHARDS})::smallint as shard, count(*)::int as enrolled,
        sum(sum_percent) as sum_percent
      from (${FRESH_PROGRESS_ENROLLMENT}) p group by 1, 2`,
    empty: 'enrolled = 0 and sum_percent = 0',
  },
]

const WITH_FRESH = `with fresh_work_day as materialized (${FRESH_WORK_DAY})`

/** Writers wait while the summaries are recomputed, so that none is lost in between. */
const LOCK_SOURCES =
  'lock table submissions, assignments, enrollments, material_progress, materials in share mode'

/** Replaces every summary row by one recomputed from the raw data (one transaction, writers wait). */
export async function rebuildAggregates(db: Kysely<Database>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql.raw(LOCK_SOURCES).execute(trx)
    await refillAggregates(trx)
  })
}

/** rebuildAggregates inside the caller's transaction, which must keep writers out (the seed does). */
export async function refillAggregates(trx: Db): Promise<void> {
  // One hash aggregation over every submission: in memory rather than spilled to disk.
  await sql.raw(`set local work_mem = '128MB'`).execute(trx)
  // agg_work_class_month is refilled here like the others: its roll-up triggers on agg_work_day stay out.
  await sql.raw(`set local agg.refill = 'on'`).execute(trx)
  for (const s of SUMMARIES) await sql.raw(`delete from ${s.table}`).execute(trx)
  await sql.raw(`create temp table fresh_work_day on commit drop as ${FRESH_WORK_DAY}`).execute(trx)
  for (const s of SUMMARIES) {
    await sql.raw(`insert into ${s.table} (${s.columns}) ${s.fresh}`).execute(trx)
  }
  await sql.raw('drop table fresh_work_day').execute(trx)
}

export interface AggregateDifference {
  table: string
  /** Rows stored but not recomputed, or with other figures. */
  stale: number
  /** Rows recomputed but not stored (or stored with other figures). */
  missing: number
}

/** Compares every summary with the raw data; an empty list means they agree. */
export async function checkAggregates(db: Kysely<Database>): Promise<AggregateDifference[]> {
  const differences: AggregateDifference[] = []
  for (const s of SUMMARIES) {
    const { rows } = await sql
      .raw<{ stale: number; missing: number }>(`${WITH_FRESH},
        stored as (select ${s.columns} from ${s.table} where not (${s.empty})),
        fresh as (select * from (${s.fresh}) f where not (${s.empty}))
        select (select count(*) from (select * from stored except all select * from fresh) x)::int as stale,
               (select count(*) from (select * from fresh except all select * from stored) y)::int as missing`)
      .execute(db)
    const { stale, missing } = rows[0]
    if (stale > 0 || missing > 0) differences.push({ table: s.table, stale, missing })
  }
  return differences
}
