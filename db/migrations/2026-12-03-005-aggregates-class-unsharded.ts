// agg_work_class holds one row per class instead of one per (class, shard).
//
// Why: the tenant-wide per-class reads (analytics' top_classes, custom
// avg_score/on_time_rate by class) summed 8 rows per class, 4,800 on the large
// seed, and that aggregation was most of an admin cache miss's Postgres time
// (4.5 and 8.4 ms of execution on the bench machine, 1.1 and 1.5 ms with one
// row per class). Every tenant-wide miss after a grade pays it, on the CPUs
// the service shares with Postgres.
//
// Why the shards bought nothing: the same triggers update
// agg_work_class_month (migration 003), one row per class and month, in the
// same transaction. Graders of one class and month already share that row
// until their commit; graders of different classes never share either row.
// agg_work_tenant_day, which every grader of a tenant writes, keeps its shards.
//
// The triggers of migration 002 that write agg_work_class are rewritten
// through its own generator (classSharded false); their names and the
// triggers themselves stay.
import { type Kysely, sql } from 'kysely'
import { type TriggerSpec, triggerFunction, workTriggers } from './2026-12-01-002-aggregates.js'

const COUNTERS =
  'n integer not null, graded integer not null, on_time integer not null, sum_pct numeric not null'

const replaceFunctions = (triggers: TriggerSpec[]) =>
  triggers.map((t) => triggerFunction(t, 'create or replace'))

/** Replaces agg_work_class by `columns`/`key`, filled from the old table's rows (`fill`). */
function rebuildTable(columns: string, key: string, fill: string): string[] {
  return [
    `create table agg_work_class_next (tenant_id integer not null, class_id integer not null, ${columns}${COUNTERS},
      constraint agg_work_class_next_pkey primary key (${key}))`,
    `insert into agg_work_class_next select ${fill}`,
    'drop table agg_work_class',
    'alter table agg_work_class_next rename to agg_work_class',
    'alter table agg_work_class rename constraint agg_work_class_next_pkey to agg_work_class_pkey',
  ]
}

async function run(db: Kysely<unknown>, statements: string[]): Promise<void> {
  // One statement per query: PGlite's extended protocol takes no multi-statement strings.
  for (const statement of statements) await sql.raw(statement).execute(db)
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await run(db, [
    // Writers of the old table wait here until this transaction commits.
    'lock table agg_work_class in exclusive mode',
    ...rebuildTable(
      '',
      'tenant_id, class_id',
      `tenant_id, class_id, sum(n), sum(graded), sum(on_time), sum(sum_pct)
        from agg_work_class group by 1, 2`,
    ),
    ...replaceFunctions(workTriggers({ classSharded: false })),
  ])
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await run(db, [
    'lock table agg_work_class in exclusive mode',
    ...rebuildTable(
      'shard smallint not null, ',
      'tenant_id, class_id, shard',
      // The totals in shard 0: the sums per class are what readers use.
      'tenant_id, class_id, 0, n, graded, on_time, sum_pct from agg_work_class',
    ),
    ...replaceFunctions(workTriggers({ classSharded: true })),
  ])
}
