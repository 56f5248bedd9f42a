// Per class and UTC month, the work counters of agg_work_day summed
// (docs/aggregates.md): a tenant-wide report by class with from/to reads whole
// months here and only the days of a partial first or last month from
// agg_work_day, instead of every (assignment, day) row of the tenant.
//
// A pure roll-up of agg_work_day, kept by statement-level triggers on it: every
// path that changes agg_work_day (a submission's delta, an assignment
// re-derived or deleted, a TRUNCATE) changes this table by the same amounts,
// in the same transaction. Not sharded: a tenant-wide read sums one row per
// class and month (600 × 10 on the large seed; ×8 shards made it 37,000 rows,
// 60 ms). Graders of different classes never share a row; graders of one class
// in one month do, for the few milliseconds to their commit. The refill
// (db/aggregates.ts) writes both tables itself and sets `agg.refill` so that
// these triggers stay out of it.
import { type Kysely, sql } from 'kysely'

/** Adds the signed rows of `source` (agg_work_day columns, counters signed) by class and month. */
function addMonths(source: string): string {
  return `insert into agg_work_class_month as t (tenant_id, class_id, month, n, graded, on_time, sum_pct)
    select tenant_id, class_id, date_trunc('month', day)::date, sum(n), sum(graded), sum(on_time), sum(sum_pct)
    from (${source}) d
    group by 1, 2, 3
    having sum(n) <> 0 or sum(graded) <> 0 or sum(on_time) <> 0 or sum(sum_pct) <> 0
    order by 1, 2, 3
    on conflict (tenant_id, class_id, month) do update set
      n = t.n + excluded.n, graded = t.graded + excluded.graded,
      on_time = t.on_time + excluded.on_time, sum_pct = t.sum_pct + excluded.sum_pct;`
}

const COLUMNS = 'tenant_id, class_id, assignment_id, day'
const PLUS = (t: string) => `select ${COLUMNS}, n, graded, on_time, sum_pct from ${t}`
const MINUS = (t: string) =>
  `select ${COLUMNS}, -n as n, -graded as graded, -on_time as on_time, -sum_pct as sum_pct from ${t}`

const TRIGGERS = [
  { event: 'insert', transitions: 'new table as agg_new', source: PLUS('agg_new') },
  {
    event: 'update',
    transitions: 'old table as agg_old new table as agg_new',
    source: `${PLUS('agg_new')} union all ${MINUS('agg_old')}`,
  },
  { event: 'delete', transitions: 'old table as agg_old', source: MINUS('agg_old') },
] as const

const CLASS_MONTH_TRIGGERS = TRIGGERS.map((t) => `agg_work_day_${t.event}_class_month`)

export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create table agg_work_class_month (
      tenant_id integer not null, class_id integer not null, month date not null,
      n integer not null, graded integer not null, on_time integer not null, sum_pct numeric not null,
      primary key (tenant_id, class_id, month)
    )`,
    `insert into agg_work_class_month (tenant_id, class_id, month, n, graded, on_time, sum_pct)
      select tenant_id, class_id, date_trunc('month', day)::date, sum(n), sum(graded), sum(on_time), sum(sum_pct)
      from agg_work_day group by 1, 2, 3`,
  ]
  for (const t of TRIGGERS) {
    const name = `agg_work_day_${t.event}_class_month`
    statements.push(
      `create function ${name}() returns trigger language plpgsql as $fn$
      begin
        if current_setting('agg.refill', true) = 'on' then return null; end if;
        ${addMonths(t.source)}
        return null;
      end $fn$`,
      `create trigger ${name} after ${t.event} on agg_work_day
        referencing ${t.transitions} for each statement execute function ${name}()`,
    )
  }
  // One statement per query: PGlite's extended protocol takes no multi-statement strings.
  for (const statement of statements) await sql.raw(statement).execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const name of CLASS_MONTH_TRIGGERS) {
    await sql.raw(`drop trigger if exists ${name} on agg_work_day`).execute(db)
    await sql.raw(`drop function if exists ${name}()`).execute(db)
  }
  await sql.raw('drop table if exists agg_work_class_month').execute(db)
}
