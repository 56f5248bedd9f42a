// Summary tables kept in the same transaction as the data they summarise, so
// that a tenant-wide report reads a few thousand summary rows instead of every
// submission (docs/aggregates.md). Standalone: its trigger functions are its
// own (agg_*), independent of any other migration's triggers on these tables.
//
// Work (submissions joined to their assignment's max_score, due_at, class):
// - agg_work_day (tenant, assignment, UTC day): the exact grain, for class
//   scopes and from/to filters (whole UTC dates = whole days);
// - agg_work_tenant_day (tenant, day, shard): the tenant-wide series;
// - agg_work_class (tenant, class, shard): per-class totals without from/to.
// Shard = assignment_id % 8: concurrent graders of one tenant (and one class)
// update different rows, so none queues on a single hot row.
// Each holds n (submissions), graded, on_time (submitted_at <= due_at) and
// sum_pct, the exact numeric sum of score / max_score * 100 of the graded
// ones, so that mean = sum_pct / graded is avg()'s very division.
//
// Completion: agg_progress_enrollment (class, student), one row per
// enrollment holding the student's percent summed over the class's materials,
// and its roll-up agg_progress_class (class, shard = student_id % 8): enrolled
// count and that sum. Every roll-up change is what the per-enrollment rows
// changed by (returning clauses), so it cannot drift from them.
//
// AFTER triggers of cascaded deletes fire at the end of the outer statement,
// when every cascade is done: a deleted progress row whose enrollment is gone
// too finds no row to subtract from (the enrollment's removal took its sum
// along), and a material's progress is subtracted by a BEFORE DELETE row
// trigger while the material's class can still be looked up.
//
// Statement-level triggers with transition tables (one pass per bulk
// statement). Each reads the other tables as they are when it runs, which
// makes cascades (assignment → submissions, class → everything, user →
// enrollments/progress) come out right in either order. Races with a
// concurrent change of what a delta depends on are closed by row locks:
// submission changes take FOR SHARE on their assignments (an assignment
// UPDATE waits for them, and they for it); progress changes FOR SHARE and
// enrollment changes FOR NO KEY UPDATE on the student's users row.
import { type Kysely, sql } from 'kysely'

const SHARDS = 8

/** Aggregate a work delta source (tenant_id, assignment_id, submitted_at, score, sign) by (tenant, assignment, day). */
function workDelta(source: string): string {
  return `select s.tenant_id, a.class_id, s.assignment_id, (s.submitted_at at time zone 'UTC')::date as day,
      sum(s.sign)::int as n,
      coalesce(sum(s.sign) filter (where s.score is not null), 0)::int as graded,
      coalesce(sum(s.sign) filter (where s.submitted_at <= a.due_at), 0)::int as on_time,
      coalesce(sum(s.sign * (s.score / a.max_score * 100)), 0) as sum_pct
    from (${source}) s join assignments a on a.id = s.assignment_id
    group by 1, 2, 3, 4`
}

const ADD = (t: string) =>
  `n = ${t}.n + excluded.n, graded = ${t}.graded + excluded.graded,
   on_time = ${t}.on_time + excluded.on_time, sum_pct = ${t}.sum_pct + excluded.sum_pct`

/**
 * Where the per-class totals go: here one row per (class, shard); migration
 * 2026-12-03-005 makes it one row per class and rewrites the same triggers
 * through these functions with `classSharded` false.
 */
export interface WorkTriggerOptions {
  classSharded: boolean
}

/**
 * Adds the rows of CTE `d` (tenant_id, class_id, assignment_id, day, n,
 * graded, on_time, sum_pct; sign already applied) to the two coarse tables.
 * Sorted inserts: concurrent statements lock rows in the same order.
 */
function rollUp(d: string, sign: '' | '-', { classSharded }: WorkTriggerOptions): string {
  const classKey = classSharded ? `class_id, assignment_id % ${SHARDS}` : 'class_id'
  const classColumns = classSharded ? 'class_id, shard' : 'class_id'
  const classGroups = classSharded ? '1, 2, 3' : '1, 2'
  return `u2 as (
      insert into agg_work_tenant_day as t (tenant_id, day, shard, n, graded, on_time, sum_pct)
      select tenant_id, day, assignment_id % ${SHARDS}, ${sign}sum(n), ${sign}sum(graded), ${sign}sum(on_time), ${sign}sum(sum_pct)
      from ${d} group by 1, 2, 3 order by 1, 2, 3
      on conflict (tenant_id, day, shard) do update set ${ADD('t')}
      returning 1
    )
    insert into agg_work_class as t (tenant_id, ${classColumns}, n, graded, on_time, sum_pct)
    select tenant_id, ${classKey}, ${sign}sum(n), ${sign}sum(graded), ${sign}sum(on_time), ${sign}sum(sum_pct)
    from ${d} group by ${classGroups} order by ${classGroups}
    on conflict (tenant_id, ${classColumns}) do update set ${ADD('t')}`
}

/** Applies a work delta to all three tables, in one statement. */
function applyWork(source: string, options: WorkTriggerOptions): string {
  return `with d as materialized (
      select * from (${workDelta(source)}) x
      where n <> 0 or graded <> 0 or on_time <> 0 or sum_pct <> 0
    ),
    u1 as (
      insert into agg_work_day as t (tenant_id, assignment_id, day, class_id, n, graded, on_time, sum_pct)
      select tenant_id, assignment_id, day, class_id, n, graded, on_time, sum_pct
      from d order by assignment_id, day, tenant_id
      on conflict (assignment_id, day, tenant_id) do update set ${ADD('t')}
      returning 1
    ),
    ${rollUp('d', '', options)};`
}

const lockAssignments = (ids: string) =>
  `perform 1 from assignments a where a.id in (${ids}) order by a.id for share;`

const SUB_NEW = `select tenant_id, assignment_id, submitted_at, score, 1 as sign from agg_new`
const SUB_OLD = `select tenant_id, assignment_id, submitted_at, score, -1 as sign from agg_old`

/** The work of some assignments recomputed from the raw rows (the assignment's current fields). */
function freshWork(where: string): string {
  return `select s.tenant_id, a.class_id, s.assignment_id, (s.submitted_at at time zone 'UTC')::date as day,
      count(*)::int as n, count(s.score)::int as graded,
      (count(*) filter (where s.submitted_at <= a.due_at))::int as on_time,
      coalesce(sum(s.score / a.max_score * 100), 0) as sum_pct
    from submissions s join assignments a on a.id = s.assignment_id
    where ${where}
    group by 1, 2, 3, 4`
}

/** Removes the summary rows of the assignments `ids` (a query) from all three tables. */
function dropWork(ids: string, options: WorkTriggerOptions): string {
  return `with gone as (
      delete from agg_work_day w where w.assignment_id in (${ids})
      returning w.tenant_id, w.class_id, w.assignment_id, w.day, w.n, w.graded, w.on_time, w.sum_pct
    ),
    ${rollUp('gone', '-', options)};`
}

/**
 * Adds percent deltas (class_id, student_id, v) to the enrolled students' rows
 * of agg_progress_enrollment (a student not enrolled has no row: nothing is
 * counted), and what was added to the per-class roll-up.
 */
function addPercent(deltas: string): string {
  return `with d as (
      select class_id, student_id, sum(v) as v from (${deltas}) x group by 1, 2
    ),
    e as (
      update agg_progress_enrollment t set sum_percent = t.sum_percent + d.v
      from d where t.class_id = d.class_id and t.student_id = d.student_id and d.v <> 0
      returning t.class_id, t.student_id, d.v
    )
    insert into agg_progress_class as t (class_id, shard, enrolled, sum_percent)
    select class_id, student_id % ${SHARDS}, 0, sum(v) from e group by 1, 2 order by 1, 2
    on conflict (class_id, shard) do update set sum_percent = t.sum_percent + excluded.sum_percent;`
}

/** Progress rows (material_id, student_id, percent, sign) as deltas of their material's class. */
const progressDeltas = (source: string) =>
  `select m.class_id, p.student_id, p.sign * p.percent as v
   from (${source}) p join materials m on m.id = p.material_id`

/** One row per enrollment in agg_progress_enrollment, with the student's progress on the class's materials now. */
function addEnrollments(source: string): string {
  return `with e as (
      insert into agg_progress_enrollment (class_id, student_id, sum_percent)
      select n.class_id, n.student_id, coalesce((
        select sum(mp.percent) from material_progress mp join materials m on m.id = mp.material_id
        where m.class_id = n.class_id and mp.student_id = n.student_id
      ), 0)
      from (${source}) n order by 1, 2
      returning class_id, student_id, sum_percent
    )
    insert into agg_progress_class as t (class_id, shard, enrolled, sum_percent)
    select class_id, student_id % ${SHARDS}, count(*), sum(sum_percent) from e group by 1, 2 order by 1, 2
    on conflict (class_id, shard) do update set
      enrolled = t.enrolled + excluded.enrolled, sum_percent = t.sum_percent + excluded.sum_percent;`
}

/** Removes the enrollments' rows, and what they held from the roll-up. */
function dropEnrollments(source: string): string {
  return `with e as (
      delete from agg_progress_enrollment t using (${source}) o
      where t.class_id = o.class_id and t.student_id = o.student_id
      returning t.class_id, t.student_id, t.sum_percent
    )
    insert into agg_progress_class as t (class_id, shard, enrolled, sum_percent)
    select class_id, student_id % ${SHARDS}, -count(*), -sum(sum_percent) from e group by 1, 2 order by 1, 2
    on conflict (class_id, shard) do update set
      enrolled = t.enrolled + excluded.enrolled, sum_percent = t.sum_percent + excluded.sum_percent;`
}

const lockStudents = (ids: string, mode: 'share' | 'no key update') =>
  `perform 1 from users u where u.id in (${ids}) order by u.id for ${mode};`

export interface TriggerSpec {
  table: string
  event: 'insert' | 'update' | 'delete'
  body: string
}

/** The statement that defines the function of trigger `t` (`create or replace` to rewrite it in place). */
export function triggerFunction(t: TriggerSpec, verb: 'create' | 'create or replace'): string {
  return `${verb} function agg_${t.table}_${t.event}() returns trigger language plpgsql as $fn$
      begin
        ${t.body}
        return null;
      end $fn$`
}

/** The triggers that write the work tables (submissions and assignments). */
export function workTriggers(options: WorkTriggerOptions): TriggerSpec[] {
  return [
    {
      table: 'submissions',
      event: 'insert',
      body: `${lockAssignments('select assignment_id from agg_new')}\n${applyWork(SUB_NEW, options)}`,
    },
    {
      table: 'submissions',
      event: 'update',
      body: `${lockAssignments('select assignment_id from agg_new union select assignment_id from agg_old')}
      ${applyWork(`${SUB_NEW} union all ${SUB_OLD}`, options)}`,
    },
    {
      table: 'submissions',
      event: 'delete',
      body: `${lockAssignments('select assignment_id from agg_old')}\n${applyWork(SUB_OLD, options)}`,
    },
    {
      // A change of max_score, due_at or class re-derives the assignment's rows from its submissions.
      table: 'assignments',
      event: 'update',
      body: `${dropWork(
        `select n.id from agg_new n join agg_old o on o.id = n.id
        where (n.max_score, n.due_at, n.class_id) is distinct from (o.max_score, o.due_at, o.class_id)`,
        options,
      )}
      with fresh as (
        insert into agg_work_day (tenant_id, class_id, assignment_id, day, n, graded, on_time, sum_pct)
        select * from (${freshWork(`s.assignment_id in (select n.id from agg_new n join agg_old o on o.id = n.id
          where (n.max_score, n.due_at, n.class_id) is distinct from (o.max_score, o.due_at, o.class_id))`)}) f
        order by assignment_id, day, tenant_id
        returning tenant_id, class_id, assignment_id, day, n, graded, on_time, sum_pct
      ),
      ${rollUp('fresh', '', options)};`,
    },
    {
      // The cascade deletes the submissions too; their trigger no longer finds the assignment and skips them.
      table: 'assignments',
      event: 'delete',
      body: dropWork('select id from agg_old', options),
    },
  ]
}

const TRIGGERS: TriggerSpec[] = [
  ...workTriggers({ classSharded: true }),
  {
    table: 'material_progress',
    event: 'insert',
    body: `${lockStudents('select student_id from agg_new', 'share')}
      ${addPercent(progressDeltas('select material_id, student_id, percent, 1 as sign from agg_new'))}`,
  },
  {
    table: 'material_progress',
    event: 'update',
    body: `${lockStudents('select student_id from agg_new union select student_id from agg_old', 'share')}
      ${addPercent(
        progressDeltas(`select material_id, student_id, percent, 1 as sign from agg_new
          union all select material_id, student_id, percent, -1 from agg_old`),
      )}`,
  },
  {
    // A material deleted with its progress: subtracted before, while its class could still be looked up.
    table: 'material_progress',
    event: 'delete',
    body: `${lockStudents('select student_id from agg_old', 'share')}
      ${addPercent(progressDeltas('select material_id, student_id, percent, -1 as sign from agg_old'))}`,
  },
  {
    table: 'enrollments',
    event: 'insert',
    body: `${lockStudents('select student_id from agg_new', 'no key update')}
      ${addEnrollments('select class_id, student_id from agg_new')}`,
  },
  {
    table: 'enrollments',
    event: 'update',
    body: `${lockStudents('select student_id from agg_new union select student_id from agg_old', 'no key update')}
      ${dropEnrollments('select class_id, student_id from agg_old')}
      ${addEnrollments('select class_id, student_id from agg_new')}`,
  },
  {
    table: 'enrollments',
    event: 'delete',
    body: `${lockStudents('select student_id from agg_old', 'no key update')}
      ${dropEnrollments('select class_id, student_id from agg_old')}`,
  },
  {
    // A material moved to another class (raw SQL only): its progress moves with it.
    table: 'materials',
    event: 'update',
    body: addPercent(`select o.class_id, mp.student_id, -mp.percent as v
        from agg_old o join agg_new n on n.id = o.id and n.class_id is distinct from o.class_id
        join material_progress mp on mp.material_id = o.id
      union all
      select n.class_id, mp.student_id, mp.percent
        from agg_old o join agg_new n on n.id = o.id and n.class_id is distinct from o.class_id
        join material_progress mp on mp.material_id = n.id`),
  },
]

/** Every trigger (and its function) this migration creates, for the seed's bulk load and for down(). */
export const AGGREGATE_TRIGGERS: ReadonlyArray<{ table: string; name: string }> = [
  ...TRIGGERS.map((t) => ({ table: t.table, name: `agg_${t.table}_${t.event}` })),
  { table: 'materials', name: 'agg_materials_before_delete' },
  ...['submissions', 'material_progress', 'enrollments'].map((table) => ({
    table,
    name: `agg_${table}_truncate`,
  })),
]

const TRUNCATE_BODIES: Record<string, string> = {
  submissions: 'delete from agg_work_day; delete from agg_work_tenant_day; delete from agg_work_class;',
  material_progress: `update agg_progress_enrollment set sum_percent = 0 where sum_percent <> 0;
    update agg_progress_class set sum_percent = 0 where sum_percent <> 0;`,
  enrollments:
    'delete from agg_progress_enrollment; update agg_progress_class set enrolled = 0, sum_percent = 0;',
}

export async function up(db: Kysely<unknown>): Promise<void> {
  const counters = `n integer not null, graded integer not null, on_time integer not null, sum_pct numeric not null`
  // One statement per query: PGlite's extended protocol takes no multi-statement strings.
  const statements: string[] = [
    `create table agg_work_day (
      tenant_id integer not null, assignment_id integer not null, day date not null,
      class_id integer not null, ${counters},
      primary key (assignment_id, day, tenant_id)
    )`,
    'create index agg_work_day_tenant_idx on agg_work_day (tenant_id, day)',
    'create index agg_work_day_class_idx on agg_work_day (class_id, day)',
    `create table agg_work_tenant_day (
      tenant_id integer not null, day date not null, shard smallint not null, ${counters},
      primary key (tenant_id, day, shard)
    )`,
    `create table agg_work_class (
      tenant_id integer not null, class_id integer not null, shard smallint not null, ${counters},
      primary key (tenant_id, class_id, shard)
    )`,
    `create table agg_progress_enrollment (
      class_id integer not null, student_id integer not null, sum_percent numeric not null,
      primary key (class_id, student_id)
    )`,
    `create table agg_progress_class (
      class_id integer not null, shard smallint not null,
      enrolled integer not null, sum_percent numeric not null,
      primary key (class_id, shard)
    )`,
  ]

  for (const t of TRIGGERS) {
    const name = `agg_${t.table}_${t.event}`
    const transitions =
      t.event === 'insert'
        ? 'new table as agg_new'
        : t.event === 'delete'
          ? 'old table as agg_old'
          : 'old table as agg_old new table as agg_new'
    statements.push(
      triggerFunction(t, 'create'),
      `create trigger ${name} after ${t.event} on ${t.table}
        referencing ${transitions} for each statement execute function ${name}()`,
    )
  }

  // A material's progress rows go by cascade after the material, when its
  // class can no longer be looked up: subtract them while it still can.
  statements.push(
    `create function agg_materials_before_delete() returns trigger language plpgsql as $fn$
    begin
      ${addPercent(`select old.class_id, mp.student_id, -mp.percent as v
        from material_progress mp where mp.material_id = old.id`)}
      return old;
    end $fn$`,
    `create trigger agg_materials_before_delete before delete on materials
      for each row execute function agg_materials_before_delete()`,
  )

  for (const [table, body] of Object.entries(TRUNCATE_BODIES)) {
    statements.push(
      `create function agg_${table}_truncate() returns trigger language plpgsql as $fn$
      begin
        ${body}
        return null;
      end $fn$`,
      `create trigger agg_${table}_truncate after truncate on ${table}
        for each statement execute function agg_${table}_truncate()`,
    )
  }
  for (const statement of statements) await sql.raw(statement).execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of AGGREGATE_TRIGGERS) {
    await sql.raw(`drop trigger if exists ${t.name} on ${t.table}`).execute(db)
    await sql.raw(`drop function if exists ${t.name}()`).execute(db)
  }
  await sql
    .raw(
      'drop table if exists agg_work_day, agg_work_tenant_day, agg_work_class, agg_progress_enrollment, agg_progress_class',
    )
    .execute(db)
}
