// The invalidation log: what a change touched, recorded by the database in
// the same transaction as the change (docs/invalidation.md). Statement-level
// AFTER triggers with transition tables write one row per distinct
// (tenant, tag) of a statement, from OLD and NEW rows, so a bulk statement of
// 100,000 rows writes as many records as it touched tags, and no writer (the
// API, psql, an import, another service) can skip them. The tag vocabulary is
// src/reports/tags.ts and accessTag in src/access/viewer.ts.
import { type Kysely, sql } from 'kysely'

/** Tags a set of rows `r` touched: a SELECT of (tenant_id, tag) per table and operation. */
type TagSql = string

const submissions: TagSql = `
  select r.tenant_id, t.tag from r
  left join assignments a on a.id = r.assignment_id
  cross join lateral unnest(array[
    'student:' || r.student_id, 'assignment:' || r.assignment_id,
    'class-work:' || a.class_id, 'school-work:' || r.tenant_id]) as t(tag)`

const materialProgress: TagSql = `
  select r.tenant_id, t.tag from r
  left join materials m on m.id = r.material_id
  cross join lateral unnest(array[
    'student:' || r.student_id, 'class-progress:' || m.class_id,
    'school-progress:' || r.tenant_id]) as t(tag)`

const enrollments: TagSql = `
  select r.tenant_id, t.tag from r
  cross join lateral unnest(array[
    'student:' || r.student_id, 'roster:' || r.class_id, 'enrolled:' || r.student_id,
    'school-roster:' || r.tenant_id]) as t(tag)`

// A new assignment changes the set of assignments, not any existing work (it has no submissions).
const assignmentCreate: TagSql = `
  select r.tenant_id, t.tag from r
  cross join lateral unnest(array['class:' || r.class_id, 'school-structure:' || r.tenant_id]) as t(tag)`

const assignmentStructure = `
  select r.tenant_id, t.tag from r
  cross join lateral unnest(array[
    'assignment:' || r.id, 'class:' || r.class_id, 'school-structure:' || r.tenant_id]) as t(tag)`

// A deletion alters work figures (its submissions go with it).
const assignmentDelete: TagSql = `${assignmentStructure}
  union all
  select r.tenant_id, t.tag from r
  cross join lateral unnest(array['class-work:' || r.class_id, 'school-work:' || r.tenant_id]) as t(tag)`

// An update alters work figures unless only the title changed: max_score
// rescales grades, due_at moves the on-time line; a moved row counts at both ends.
const workChanged = (a: string, b: string) => `
  ${b}.id is null or ${a}.max_score is distinct from ${b}.max_score
  or ${a}.due_at is distinct from ${b}.due_at
  or ${a}.class_id <> ${b}.class_id or ${a}.tenant_id <> ${b}.tenant_id`
const assignmentUpdate: TagSql = `${assignmentStructure}
  union all
  select o.tenant_id, t.tag from old_rows o left join new_rows n on n.id = o.id
  cross join lateral unnest(array['class-work:' || o.class_id, 'school-work:' || o.tenant_id]) as t(tag)
  where ${workChanged('o', 'n')}
  union all
  select n.tenant_id, t.tag from new_rows n left join old_rows o on o.id = n.id
  cross join lateral unnest(array['class-work:' || n.class_id, 'school-work:' || n.tenant_id]) as t(tag)
  where ${workChanged('n', 'o')}`

const guardians: TagSql = `select r.tenant_id, 'children:' || r.parent_id from r`
const tutorLinks: TagSql = `select r.tenant_id, 'tutees:' || r.tutor_id from r`

// Names, teachers and existence of classes are read by every kind of report:
// a class change invalidates everything about the class and the tenant-wide reports.
const classes: TagSql = `
  select r.tenant_id, t.tag from r
  cross join lateral unnest(array[
    'class:' || r.id, 'class-work:' || r.id, 'class-progress:' || r.id,
    'class-materials:' || r.id, 'roster:' || r.id, 'teaches:' || r.teacher_id,
    'school-structure:' || r.tenant_id, 'school-work:' || r.tenant_id,
    'school-progress:' || r.tenant_id, 'school-roster:' || r.tenant_id,
    'school-materials:' || r.tenant_id]) as t(tag)`

// user:{id} is part of every viewer's access tags (a role change or deletion
// in SQL invalidates the cached access set); student names label rows of
// roster-grouped reports; the person's links decide access.
const users: TagSql = `
  select r.tenant_id, t.tag from r
  cross join lateral unnest(array[
    'user:' || r.id, 'student:' || r.id, 'enrolled:' || r.id, 'teaches:' || r.id,
    'tutees:' || r.id, 'children:' || r.id, 'school-roster:' || r.tenant_id]) as t(tag)
  union all
  select r.tenant_id, 'roster:' || e.class_id from r join enrollments e on e.student_id = r.id`

const materials: TagSql = `
  select r.tenant_id, t.tag from r
  cross join lateral unnest(array[
    'class:' || r.class_id, 'class-materials:' || r.class_id, 'class-progress:' || r.class_id,
    'school-materials:' || r.tenant_id, 'school-progress:' || r.tenant_id]) as t(tag)`

const reports: TagSql = `select r.tenant_id, 'report:' || r.id from r`

/** Per table: the tags of its INSERT, UPDATE and DELETE statements. */
export const TRIGGERED_TABLES: Record<string, { insert: TagSql; update: TagSql; delete: TagSql }> = {
  submissions: { insert: submissions, update: submissions, delete: submissions },
  material_progress: { insert: materialProgress, update: materialProgress, delete: materialProgress },
  enrollments: { insert: enrollments, update: enrollments, delete: enrollments },
  assignments: { insert: assignmentCreate, update: assignmentUpdate, delete: assignmentDelete },
  guardians: { insert: guardians, update: guardians, delete: guardians },
  tutor_links: { insert: tutorLinks, update: tutorLinks, delete: tutorLinks },
  classes: { insert: classes, update: classes, delete: classes },
  users: { insert: users, update: users, delete: users },
  materials: { insert: materials, update: materials, delete: materials },
  reports: { insert: reports, update: reports, delete: reports },
}

/** The trigger of a table's operation (the seed turns the row ones off for its bulk load). */
export function invalidationTrigger(table: string, op: 'insert' | 'update' | 'delete' | 'truncate'): string {
  return `${table}_invalidation_${op}`
}

export async function up(db: Kysely<unknown>): Promise<void> {
  // tenant_id null: every tenant (TRUNCATE). tag '*': the whole tenant.
  // xid: the writing transaction, so the writer finds its own records.
  await sql`
    create table invalidation_log (
      seq bigint generated always as identity primary key,
      tenant_id integer,
      tag text not null,
      xid xid8 not null default pg_current_xact_id(),
      created_at timestamptz not null default now()
    )`.execute(db)
  await sql`create index invalidation_log_xid_idx on invalidation_log (xid)`.execute(db)

  // One row per store that applies the log (a shared Redis keyspace, or one
  // process's memory): every record up to delivered_seq has reached it. A
  // consumer silent too long is marked dropped (pruning stops waiting for it);
  // when it returns it must reset its store.
  await sql`
    create table invalidation_consumers (
      name text primary key,
      delivered_seq bigint not null,
      heartbeat_at timestamptz not null default now(),
      dropped boolean not null default false
    )`.execute(db)

  // TG_ARGV[0]: a SELECT of (tenant_id, tag) over `r`, the rows of the
  // statement (old and new ones for an UPDATE, which may also read
  // old_rows / new_rows). The NOTIFY is only a wake-up: the log is the truth.
  await sql`
    create function invalidation_capture() returns trigger language plpgsql as $fn$
    declare
      src text := case tg_op
        when 'INSERT' then 'select * from new_rows'
        when 'DELETE' then 'select * from old_rows'
        else 'select * from old_rows union all select * from new_rows' end;
    begin
      execute format(
        'insert into invalidation_log (tenant_id, tag)
         select distinct x.tenant_id, x.tag from (with r as (%s) %s) as x (tenant_id, tag)
         where x.tag is not null and x.tenant_id is not null', src, tg_argv[0]);
      perform pg_notify('invalidation_' || current_schema(), '');
      return null;
    end
    $fn$`.execute(db)

  // TRUNCATE has no transition table: every tenant, everything.
  await sql`
    create function invalidation_truncate() returns trigger language plpgsql as $fn$
    begin
      insert into invalidation_log (tenant_id, tag) values (null, '*');
      perform pg_notify('invalidation_' || current_schema(), '');
      return null;
    end
    $fn$`.execute(db)

  for (const [table, ops] of Object.entries(TRIGGERED_TABLES)) {
    const refs = {
      insert: 'referencing new table as new_rows',
      update: 'referencing old table as old_rows new table as new_rows',
      delete: 'referencing old table as old_rows',
    }
    for (const op of ['insert', 'update', 'delete'] as const) {
      await sql
        .raw(
          `create trigger ${invalidationTrigger(table, op)} after ${op} on ${table} ${refs[op]}
           for each statement execute function invalidation_capture(${quote(ops[op])})`,
        )
        .execute(db)
    }
    await sql
      .raw(
        `create trigger ${invalidationTrigger(table, 'truncate')} after truncate on ${table}
         for each statement execute function invalidation_truncate()`,
      )
      .execute(db)
  }
}

function quote(text: string): string {
  return `'${text.replace(/\s+/g, ' ').trim().replace(/'/g, "''")}'`
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of Object.keys(TRIGGERED_TABLES)) {
    for (const op of ['insert', 'update', 'delete', 'truncate'] as const) {
      await sql.raw(`drop trigger if exists ${invalidationTrigger(table, op)} on ${table}`).execute(db)
    }
  }
  await sql`drop function if exists invalidation_capture()`.execute(db)
  await sql`drop function if exists invalidation_truncate()`.execute(db)
  await sql`drop table if exists invalidation_consumers`.execute(db)
  await sql`drop table if exists invalidation_log`.execute(db)
}
