// Per student and UTC month, the work counters of the student's submissions
// (docs/aggregates.md): a tenant-wide custom report grouped by student reads
// one row per student and month instead of every submission of the tenant
// (whole months; the days of a partial first or last month from the rows).
//
// Kept in the submitting transaction by triggers of their own: statement-level
// on submissions (deltas from the transition tables, joined to their
// assignment's max_score and due_at), statement-level on an assignment
// UPDATE that changes max_score or due_at (its submissions re-derived: the old
// values out, the new in), and a BEFORE DELETE row trigger on assignments that
// takes its submissions out while they can still be read (the cascade deletes
// them afterwards, when their own trigger no longer finds the assignment).
// Named agg_<table>_<event>_student: triggers fire in name order, so each runs
// after 002's agg_<table>_<event>, whose row locks on the assignments read
// (FOR SHARE) keep a concurrent rescale from mixing old and new max_score.
import { type Kysely, sql } from 'kysely'

/**
 * Adds the signed rows of `source` (tenant_id, student_id, submitted_at, score,
 * sign, max_score, due_at) by student and month.
 */
function addStudentMonths(source: string): string {
  const n = 'sum(s.sign)'
  const graded = 'coalesce(sum(s.sign) filter (where s.score is not null), 0)'
  const onTime = 'coalesce(sum(s.sign) filter (where s.submitted_at <= s.due_at), 0)'
  const pct = 'coalesce(sum(s.sign * (s.score / s.max_score * 100)), 0)'
  return `insert into agg_work_student_month as t (tenant_id, student_id, month, n, graded, on_time, sum_pct)
    select s.tenant_id, s.student_id, date_trunc('month', s.submitted_at at time zone 'UTC')::date,
      ${n}, ${graded}, ${onTime}, ${pct}
    from (${source}) s
    group by 1, 2, 3
    having ${n} <> 0 or ${graded} <> 0 or ${onTime} <> 0 or ${pct} <> 0
    order by 1, 2, 3
    on conflict (tenant_id, student_id, month) do update set
      n = t.n + excluded.n, graded = t.graded + excluded.graded,
      on_time = t.on_time + excluded.on_time, sum_pct = t.sum_pct + excluded.sum_pct;`
}

const submissionsOf = (rows: string, sign: 1 | -1) =>
  `select x.tenant_id, x.student_id, x.submitted_at, x.score, ${sign} as sign, a.max_score, a.due_at
   from ${rows} x join assignments a on a.id = x.assignment_id`

/** The assignments of this UPDATE whose max_score or due_at changed: o (old row), n (new row). */
const RESCALED = `agg_old o join agg_new n on n.id = o.id
  where (n.max_score, n.due_at) is distinct from (o.max_score, o.due_at)`

const TRIGGERS = [
  {
    table: 'submissions',
    event: 'insert',
    transitions: 'new table as agg_new',
    source: submissionsOf('agg_new', 1),
  },
  {
    table: 'submissions',
    event: 'update',
    transitions: 'old table as agg_old new table as agg_new',
    source: `${submissionsOf('agg_new', 1)} union all ${submissionsOf('agg_old', -1)}`,
  },
  {
    table: 'submissions',
    event: 'delete',
    transitions: 'old table as agg_old',
    source: submissionsOf('agg_old', -1),
  },
  {
    table: 'assignments',
    event: 'update',
    transitions: 'old table as agg_old new table as agg_new',
    source: `select s.tenant_id, s.student_id, s.submitted_at, s.score, -1 as sign, o.max_score, o.due_at
        from submissions s join (select o.* from ${RESCALED}) o on o.id = s.assignment_id
      union all
      select s.tenant_id, s.student_id, s.submitted_at, s.score, 1, n.max_score, n.due_at
        from submissions s join (select n.* from ${RESCALED}) n on n.id = s.assignment_id`,
  },
] as const

/** Every trigger this migration creates (the seed disables them for its bulk load, then refills). */
export const STUDENT_MONTH_TRIGGERS: ReadonlyArray<{ table: string; name: string }> = [
  ...TRIGGERS.map((t) => ({ table: t.table, name: `agg_${t.table}_${t.event}_student` })),
  { table: 'assignments', name: 'agg_assignments_student_before_delete' },
  { table: 'submissions', name: 'agg_submissions_student_truncate' },
]

export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create table agg_work_student_month (
      tenant_id integer not null, student_id integer not null, month date not null,
      n integer not null, graded integer not null, on_time integer not null, sum_pct numeric not null,
      primary key (tenant_id, student_id, month)
    )`,
    `insert into agg_work_student_month (tenant_id, student_id, month, n, graded, on_time, sum_pct)
      select s.tenant_id, s.student_id, date_trunc('month', s.submitted_at at time zone 'UTC')::date,
        count(*), count(s.score), count(*) filter (where s.submitted_at <= a.due_at),
        coalesce(sum(s.score / a.max_score * 100), 0)
      from submissions s join assignments a on a.id = s.assignment_id
      group by 1, 2, 3`,
  ]
  for (const t of TRIGGERS) {
    const name = `agg_${t.table}_${t.event}_student`
    statements.push(
      `create function ${name}() returns trigger language plpgsql as $fn$
      begin
        ${addStudentMonths(t.source)}
        return null;
      end $fn$`,
      `create trigger ${name} after ${t.event} on ${t.table}
        referencing ${t.transitions} for each statement execute function ${name}()`,
    )
  }
  statements.push(
    `create function agg_assignments_student_before_delete() returns trigger language plpgsql as $fn$
    begin
      ${addStudentMonths(`select s.tenant_id, s.student_id, s.submitted_at, s.score, -1 as sign,
          old.max_score, old.due_at
        from submissions s where s.assignment_id = old.id`)}
      return old;
    end $fn$`,
    `create trigger agg_assignments_student_before_delete before delete on assignments
      for each row execute function agg_assignments_student_before_delete()`,
    `create function agg_submissions_student_truncate() returns trigger language plpgsql as $fn$
    begin
      delete from agg_work_student_month;
      return null;
    end $fn$`,
    `create trigger agg_submissions_student_truncate after truncate on submissions
      for each statement execute function agg_submissions_student_truncate()`,
  )
  // One statement per query: PGlite's extended protocol takes no multi-statement strings.
  for (const statement of statements) await sql.raw(statement).execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of STUDENT_MONTH_TRIGGERS) {
    await sql.raw(`drop trigger if exists ${t.name} on ${t.table}`).execute(db)
    await sql.raw(`drop function if exists ${t.name}()`).execute(db)
  }
  await sql.raw('drop table if exists agg_work_student_month').execute(db)
}
