// custom {metric, group_by, where?}: one metric per group, as rows
// {key, label, value} ordered by key.
//
// Scope: the classes of the tenant, narrowed by where.class_id, the class of
// where.assignment_id, the classes where.student_id is enrolled in, the
// class_id filter, and for a teacher's 'personal' result its own classes.
// Submissions counted are those to assignments of those classes (and of
// where.student_id / where.assignment_id when given) within from/to.
//
// Groups: class → each class in scope (label: name); assignment → each of
// their assignments (label: title); student → each student enrolled in them
// (label: name); week/month → each UTC period (date_trunc) having
// submissions (key and label: the period's first day, YYYY-MM-DD).
//
// Metrics over a group's submissions: avg_score = mean score % of the graded
// ones; submission_count = how many (0 for none: a count); on_time_rate = %
// with submitted_at <= due_at. completion = mean, over (enrolled student,
// material of the class) pairs of the group, of the percent (no progress
// row = 0); it only groups by class or student, ignores from/to (progress has
// no submission time) and cannot take where.assignment_id. A group with no
// data has value null.
//
// Computed from the summary tables, except group_by student and a named
// student, which read the raw rows of that scope (a per-student summary could
// not answer from/to); test/reference/custom.ts is the report over the raw
// rows throughout, and the equivalence test holds the two byte-equal.
import { type RawBuilder, sql } from 'kysely'
import { type Static, Type } from 'typebox'
import type { Db } from '../../db/database.js'
import { InvalidParams } from '../errors.js'
import { Id } from '../input-schemas.js'
import { assertAssignmentExists, assertClassesExist, assertStudentExists } from './entities.js'
import {
  dayInRange,
  partialMonthDaysInRange,
  partialMonthsSubmitted,
  submittedInRange,
  wholeMonthsInRange,
} from './filters.js'
import { countInt, meanPct, onTimeRate, ratePct, round2, scorePct, sumInt } from './sql.js'
import { tag } from './tags.js'
import type { ComputeContext, ReportTypeDefinition } from './types.js'

export const METRICS = ['avg_score', 'submission_count', 'on_time_rate', 'completion'] as const
export const GROUPS = ['class', 'assignment', 'student', 'week', 'month'] as const

export const CustomWhere = Type.Object(
  {
    class_id: Type.Optional(Id),
    student_id: Type.Optional(Id),
    assignment_id: Type.Optional(Id),
  },
  { additionalProperties: false },
)

export const CustomParams = Type.Object(
  {
    metric: Type.Enum([...METRICS]),
    group_by: Type.Enum([...GROUPS]),
    where: Type.Optional(CustomWhere),
  },
  { additionalProperties: false },
)
export type CustomParams = Static<typeof CustomParams>
type Metric = (typeof METRICS)[number]
type GroupBy = (typeof GROUPS)[number]

export interface CustomRow {
  key: number | string
  label: string
  value: number | null
}

export interface CustomData {
  rows: CustomRow[]
}

interface Scope {
  /** A teacher's own classes for a 'personal' result; null: no such restriction. */
  restricted: number[] | null
  classId?: number
  filterClassId?: number
  studentId?: number
  assignmentId?: number
}

function scopeOf(ctx: ComputeContext, params: CustomParams): Scope {
  return {
    restricted: ctx.visibility === 'personal' ? [...ctx.viewer.classIds].sort((a, b) => a - b) : null,
    classId: params.where?.class_id,
    filterClassId: ctx.filters.class_id,
    studentId: params.where?.student_id,
    assignmentId: params.where?.assignment_id,
  }
}

function isTenantWide(s: Scope): boolean {
  return (
    s.restricted === null &&
    s.classId === undefined &&
    s.filterClassId === undefined &&
    s.studentId === undefined &&
    s.assignmentId === undefined
  )
}

/** The classes in scope (id, name). */
function scopedClasses(db: Db, tenantId: number, s: Scope) {
  return db
    .selectFrom('classes as c')
    .select(['c.id', 'c.name'])
    .where('c.tenant_id', '=', tenantId)
    .$if(s.restricted !== null, (q) => q.where('c.id', 'in', s.restricted as number[]))
    .$if(s.classId !== undefined, (q) => q.where('c.id', '=', s.classId as number))
    .$if(s.filterClassId !== undefined, (q) => q.where('c.id', '=', s.filterClassId as number))
    .$if(s.studentId !== undefined, (q) =>
      q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('enrollments as e')
            .select('e.class_id')
            .whereRef('e.class_id', '=', 'c.id')
            .where('e.student_id', '=', s.studentId as number),
        ),
      ),
    )
    .$if(s.assignmentId !== undefined, (q) =>
      q.where('c.id', 'in', (eb) =>
        eb
          .selectFrom('assignments as x')
          .select('x.class_id')
          .where('x.id', '=', s.assignmentId as number)
          .where('x.tenant_id', '=', tenantId),
      ),
    )
}

function submissionMetric(metric: Exclude<Metric, 'completion'>): RawBuilder<number | null> {
  switch (metric) {
    case 'avg_score':
      return round2(sql`avg(w.pct)`)
    case 'submission_count':
      return countInt(sql.ref('w.id'))
    case 'on_time_rate':
      return ratePct(sql`count(w.id) filter (where w.on_time)`, sql`count(w.id)`)
  }
}

function summaryMetric(metric: Exclude<Metric, 'completion'>): RawBuilder<number | null> {
  switch (metric) {
    case 'avg_score':
      return meanPct('w')
    case 'submission_count':
      return sumInt('w.n')
    case 'on_time_rate':
      return onTimeRate('w')
  }
}

/**
 * Submission metrics from the summaries (migration 2026-12-01-002-aggregates),
 * for every grouping but student, and without where.student_id (those read the
 * student's rows, or the scope's rows per student: submissionRows).
 * Sources: per-class totals for group_by class without from/to or a named
 * assignment, per class and month (plus the days of partial months) with them; the tenant's per-day rows for week/month over the whole
 * tenant; otherwise the per assignment and day rows of the classes in scope.
 */
async function summaryRows(ctx: ComputeContext, s: Scope, params: CustomParams): Promise<CustomRow[]> {
  const { db, tenantId, filters } = ctx
  const value = summaryMetric(params.metric as Exclude<Metric, 'completion'>)
  const dated = filters.from !== undefined || filters.to !== undefined
  const base = db.with('sc', () => scopedClasses(db, tenantId, s))
  const byDay = base.with('w', (qb) =>
    qb
      .selectFrom('agg_work_day as d')
      .innerJoin('sc', 'sc.id', 'd.class_id')
      .select(['d.class_id', 'd.assignment_id', 'd.day', 'd.n', 'd.graded', 'd.on_time', 'd.sum_pct'])
      .where('d.tenant_id', '=', tenantId)
      .$if(s.assignmentId !== undefined, (q) => q.where('d.assignment_id', '=', s.assignmentId as number))
      .where(dayInRange('d.day', filters)),
  )
  const groupBy = params.group_by as Exclude<GroupBy, 'student'>
  switch (groupBy) {
    case 'class': {
      const counters = ['d.class_id', 'd.n', 'd.graded', 'd.on_time', 'd.sum_pct'] as const
      const source =
        s.assignmentId !== undefined
          ? byDay
          : dated
            ? // Whole months from the per-month rows, the days of a partial first or last month from the per-day rows.
              base.with('w', (qb) =>
                qb
                  .selectFrom('agg_work_class_month as d')
                  .innerJoin('sc', 'sc.id', 'd.class_id')
                  .select(counters)
                  .where('d.tenant_id', '=', tenantId)
                  .where(wholeMonthsInRange('d.month', filters))
                  .unionAll(
                    qb
                      .selectFrom('agg_work_day as d')
                      .innerJoin('sc', 'sc.id', 'd.class_id')
                      .select(counters)
                      .where('d.tenant_id', '=', tenantId)
                      .where(partialMonthDaysInRange('d.day', filters)),
                  ),
              )
            : base.with('w', (qb) =>
                qb
                  .selectFrom('agg_work_class as d')
                  .innerJoin('sc', 'sc.id', 'd.class_id')
                  .select(counters)
                  .where('d.tenant_id', '=', tenantId),
              )
      return source
        .selectFrom('sc')
        .leftJoin('w', 'w.class_id', 'sc.id')
        .select(['sc.id as key', 'sc.name as label', value.as('value')])
        .groupBy(['sc.id', 'sc.name'])
        .orderBy('sc.id')
        .execute()
    }
    case 'assignment':
      return byDay
        .selectFrom('assignments as ga')
        .innerJoin('sc', 'sc.id', 'ga.class_id')
        .leftJoin('w', 'w.assignment_id', 'ga.id')
        .select(['ga.id as key', 'ga.title as label', value.as('value')])
        .$if(s.assignmentId !== undefined, (q) => q.where('ga.id', '=', s.assignmentId as number))
        .groupBy(['ga.id', 'ga.title'])
        .orderBy('ga.id')
        .execute()
    case 'week':
    case 'month': {
      // A literal, not a parameter: the same expression must appear in select and group by.
      const period = sql<string>`to_char(date_trunc(${sql.lit(groupBy)}, w.day::timestamp), 'YYYY-MM-DD')`
      const source = isTenantWide(s)
        ? base.with('w', (qb) =>
            qb
              .selectFrom('agg_work_tenant_day as d')
              .select(['d.day', 'd.n', 'd.graded', 'd.on_time', 'd.sum_pct'])
              .where('d.tenant_id', '=', tenantId)
              .where(dayInRange('d.day', filters)),
          )
        : byDay
      return source
        .selectFrom('w')
        .select([period.as('key'), period.as('label'), value.as('value')])
        .groupBy(period)
        .having(sql`sum(w.n)`, '>', 0)
        .orderBy(period)
        .execute()
    }
  }
}

/**
 * Submission metrics by student over the whole tenant, from the per student
 * and month summary (migration 2026-12-01-004): whole months there, the
 * submissions of a partial first or last month of from/to from the rows.
 */
async function studentSummaryRows(ctx: ComputeContext, s: Scope, params: CustomParams): Promise<CustomRow[]> {
  const { db, tenantId, filters } = ctx
  const value = summaryMetric(params.metric as Exclude<Metric, 'completion'>)
  const dated = filters.from !== undefined || filters.to !== undefined
  return db
    .with('sc', () => scopedClasses(db, tenantId, s))
    .with('gs', (qb) =>
      qb
        .selectFrom('enrollments as e')
        .innerJoin('sc', 'sc.id', 'e.class_id')
        .innerJoin('users as u', 'u.id', 'e.student_id')
        .select(['u.id', 'u.name'])
        .distinct(),
    )
    .with('w', (qb) => {
      const months = qb
        .selectFrom('agg_work_student_month as d')
        .select(['d.student_id', 'd.n', 'd.graded', 'd.on_time', 'd.sum_pct'])
        .where('d.tenant_id', '=', tenantId)
        .where(wholeMonthsInRange('d.month', filters))
      if (!dated) return months
      return months.unionAll(
        qb
          .selectFrom('submissions as x')
          .innerJoin('assignments as a', 'a.id', 'x.assignment_id')
          .innerJoin('sc', 'sc.id', 'a.class_id')
          .select([
            'x.student_id',
            sql<number>`1`.as('n'),
            sql<number>`(x.score is not null)::int`.as('graded'),
            sql<number>`(x.submitted_at <= a.due_at)::int`.as('on_time'),
            sql<string>`coalesce(${scorePct('x.score', 'a.max_score')}, 0)`.as('sum_pct'),
          ])
          .where('x.tenant_id', '=', tenantId)
          .where(partialMonthsSubmitted('x.submitted_at', filters)),
      )
    })
    .selectFrom('gs')
    .leftJoin('w', 'w.student_id', 'gs.id')
    .select(['gs.id as key', 'gs.name as label', value.as('value')])
    .groupBy(['gs.id', 'gs.name'])
    .orderBy('gs.id')
    .execute()
}

/** Submission metrics over the raw rows in scope: group_by student, or a named student. */
async function submissionRows(ctx: ComputeContext, s: Scope, params: CustomParams): Promise<CustomRow[]> {
  const { db, tenantId, filters } = ctx
  const value = submissionMetric(params.metric as Exclude<Metric, 'completion'>)
  const base = db
    .with('sc', () => scopedClasses(db, tenantId, s))
    .with('w', (qb) =>
      qb
        .selectFrom('submissions as s')
        .innerJoin('assignments as a', 'a.id', 's.assignment_id')
        .innerJoin('sc', 'sc.id', 'a.class_id')
        .select([
          's.id',
          's.student_id',
          's.assignment_id',
          'a.class_id',
          's.submitted_at',
          scorePct('s.score', 'a.max_score').as('pct'),
          sql<boolean>`s.submitted_at <= a.due_at`.as('on_time'),
        ])
        .where('s.tenant_id', '=', tenantId)
        .$if(s.studentId !== undefined, (q) => q.where('s.student_id', '=', s.studentId as number))
        .$if(s.assignmentId !== undefined, (q) => q.where('s.assignment_id', '=', s.assignmentId as number))
        .where(submittedInRange('s.submitted_at', filters)),
    )
  const groupBy = params.group_by as GroupBy
  switch (groupBy) {
    case 'class':
      return base
        .selectFrom('sc')
        .leftJoin('w', 'w.class_id', 'sc.id')
        .select(['sc.id as key', 'sc.name as label', value.as('value')])
        .groupBy(['sc.id', 'sc.name'])
        .orderBy('sc.id')
        .execute()
    case 'assignment':
      return base
        .selectFrom('assignments as ga')
        .innerJoin('sc', 'sc.id', 'ga.class_id')
        .leftJoin('w', 'w.assignment_id', 'ga.id')
        .select(['ga.id as key', 'ga.title as label', value.as('value')])
        .$if(s.assignmentId !== undefined, (q) => q.where('ga.id', '=', s.assignmentId as number))
        .groupBy(['ga.id', 'ga.title'])
        .orderBy('ga.id')
        .execute()
    case 'student':
      return base
        .with('gs', (qb) =>
          qb
            .selectFrom('enrollments as e')
            .innerJoin('sc', 'sc.id', 'e.class_id')
            .innerJoin('users as u', 'u.id', 'e.student_id')
            .select(['u.id', 'u.name'])
            .distinct()
            .$if(s.studentId !== undefined, (q) => q.where('e.student_id', '=', s.studentId as number)),
        )
        .selectFrom('gs')
        .leftJoin('w', 'w.student_id', 'gs.id')
        .select(['gs.id as key', 'gs.name as label', value.as('value')])
        .groupBy(['gs.id', 'gs.name'])
        .orderBy('gs.id')
        .execute()
    case 'week':
    case 'month': {
      // A literal, not a parameter: the same expression must appear in select and group by.
      const period = sql<string>`to_char(date_trunc(${sql.lit(groupBy)}, w.submitted_at at time zone 'UTC'), 'YYYY-MM-DD')`
      return base
        .selectFrom('w')
        .select([period.as('key'), period.as('label'), value.as('value')])
        .groupBy(period)
        .orderBy(period)
        .execute()
    }
  }
}

/** The classes in scope (`sc`) and how many materials each has (`mc`): the pairs completion divides by. */
function classesWithMaterials(ctx: ComputeContext, s: Scope) {
  const { db, tenantId } = ctx
  return db
    .with('sc', () => scopedClasses(db, tenantId, s))
    .with('mc', (qb) =>
      qb
        .selectFrom('materials as m')
        .innerJoin('sc', 'sc.id', 'm.class_id')
        .select(['m.class_id', sql<number>`count(*)`.as('materials')])
        .groupBy('m.class_id'),
    )
}

/**
 * completion by class without where.student_id, from the per-class summary:
 * the sum of the enrolled students' percent over (enrolled × materials)
 * pairs, which is avg()'s own division over those pairs.
 */
async function completionByClass(ctx: ComputeContext, s: Scope): Promise<CustomRow[]> {
  return classesWithMaterials(ctx, s)
    .with('pc', (qb) =>
      qb
        .selectFrom('agg_progress_class as p')
        .innerJoin('sc', 'sc.id', 'p.class_id')
        .select([
          'p.class_id',
          sql<number>`sum(p.enrolled)`.as('enrolled'),
          sql<string>`sum(p.sum_percent)`.as('sum_percent'),
        ])
        .groupBy('p.class_id'),
    )
    .selectFrom('sc')
    .leftJoin('pc', 'pc.class_id', 'sc.id')
    .leftJoin('mc', 'mc.class_id', 'sc.id')
    .select([
      'sc.id as key',
      'sc.name as label',
      round2(sql`pc.sum_percent / nullif(pc.enrolled * mc.materials, 0)`).as('value'),
    ])
    .orderBy('sc.id')
    .execute()
}

/**
 * completion by student, from the per-enrollment summary: each enrolled
 * student's percent summed over its classes in scope, over its (class,
 * material) pairs, which is avg()'s own division over those pairs.
 */
async function completionByStudent(ctx: ComputeContext, s: Scope): Promise<CustomRow[]> {
  return classesWithMaterials(ctx, s)
    .selectFrom('agg_progress_enrollment as p')
    .innerJoin('sc', 'sc.id', 'p.class_id')
    .innerJoin('users as u', 'u.id', 'p.student_id')
    .leftJoin('mc', 'mc.class_id', 'p.class_id')
    .select([
      'u.id as key',
      'u.name as label',
      round2(sql`sum(p.sum_percent) / nullif(sum(coalesce(mc.materials, 0)), 0)`).as('value'),
    ])
    .$if(s.studentId !== undefined, (q) => q.where('p.student_id', '=', s.studentId as number))
    .groupBy(['u.id', 'u.name'])
    .orderBy('u.id')
    .execute()
}

/** completion over the raw rows in scope: group_by student, or a named student. */
async function completionRows(ctx: ComputeContext, s: Scope, params: CustomParams): Promise<CustomRow[]> {
  const { db, tenantId } = ctx
  const value = round2(sql`avg(p.percent)`)
  const base = db
    .with('sc', () => scopedClasses(db, tenantId, s))
    .with('p', (qb) =>
      qb
        .selectFrom('enrollments as e')
        .innerJoin('sc', 'sc.id', 'e.class_id')
        .innerJoin('materials as m', 'm.class_id', 'e.class_id')
        .leftJoin('material_progress as mp', (join) =>
          join.onRef('mp.material_id', '=', 'm.id').onRef('mp.student_id', '=', 'e.student_id'),
        )
        .select(['e.class_id', 'e.student_id', sql<number>`coalesce(mp.percent, 0)`.as('percent')])
        .$if(s.studentId !== undefined, (q) => q.where('e.student_id', '=', s.studentId as number)),
    )
  if (params.group_by === 'class') {
    return base
      .selectFrom('sc')
      .leftJoin('p', 'p.class_id', 'sc.id')
      .select(['sc.id as key', 'sc.name as label', value.as('value')])
      .groupBy(['sc.id', 'sc.name'])
      .orderBy('sc.id')
      .execute()
  }
  return base
    .with('gs', (qb) =>
      qb
        .selectFrom('enrollments as e')
        .innerJoin('sc', 'sc.id', 'e.class_id')
        .innerJoin('users as u', 'u.id', 'e.student_id')
        .select(['u.id', 'u.name'])
        .distinct()
        .$if(s.studentId !== undefined, (q) => q.where('e.student_id', '=', s.studentId as number)),
    )
    .selectFrom('gs')
    .leftJoin('p', 'p.student_id', 'gs.id')
    .select(['gs.id as key', 'gs.name as label', value.as('value')])
    .groupBy(['gs.id', 'gs.name'])
    .orderBy('gs.id')
    .execute()
}

/**
 * The tags of what a custom computation read; `classIds` are the classes in
 * scope (ignored when tenant-wide). By the rows each query reads:
 * - the classes in scope: the classes table (not changed through the API),
 *   the teacher's own classes (access tags, added by the cache), S's
 *   enrollments for where.student_id (student:S), A's class for
 *   where.assignment_id (assignment:A: its deletion empties the scope);
 * - submission metrics: submissions joined to their assignments' max_score and
 *   due_at: school-work:T, or class-work:C per class; a named assignment's
 *   assignment:A covers its submissions and fields; a named student's
 *   student:S covers its submissions, with class:C per class for the
 *   assignment changes that alter them (rescale, due date, deletion);
 * - completion: (enrollment, material) pairs and their progress, so the
 *   roster (school-roster:T / roster:C, or student:S), the progress
 *   (school-progress:T / class-progress:C, or student:S) and the material set
 *   (school-materials:T / class-materials:C);
 * - group_by assignment lists every assignment in scope, submissions or not:
 *   school-structure:T / class:C (assignment:A when one is named);
 * - group_by student lists every enrolled student in scope, data or not:
 *   school-roster:T / roster:C (student:S when one is named);
 * - group_by class lists the classes, week/month only periods of the work
 *   read: nothing more. User and class names cannot change through the API.
 */
function customTags(tenantId: number, params: CustomParams, s: Scope, classIds: number[]): string[] {
  const completion = params.metric === 'completion'
  if (isTenantWide(s)) {
    if (completion)
      return [tag.schoolProgress(tenantId), tag.schoolRoster(tenantId), tag.schoolMaterials(tenantId)]
    return [
      tag.schoolWork(tenantId),
      ...(params.group_by === 'assignment' ? [tag.schoolStructure(tenantId)] : []),
      ...(params.group_by === 'student' ? [tag.schoolRoster(tenantId)] : []),
    ]
  }
  const tags = new Set<string>()
  if (s.studentId !== undefined) tags.add(tag.student(s.studentId))
  if (s.assignmentId !== undefined) tags.add(tag.assignment(s.assignmentId))
  const named = s.studentId !== undefined || s.assignmentId !== undefined
  for (const id of classIds) {
    if (completion) {
      tags.add(tag.classMaterials(id))
      if (s.studentId === undefined) {
        tags.add(tag.classProgress(id))
        tags.add(tag.roster(id))
      }
      continue
    }
    if (!named) tags.add(tag.classWork(id))
    // A named student's work changes with the assignments of its classes.
    if (s.assignmentId === undefined && s.studentId !== undefined) tags.add(tag.class(id))
    if (params.group_by === 'assignment' && s.assignmentId === undefined) tags.add(tag.class(id))
    if (params.group_by === 'student' && s.studentId === undefined) tags.add(tag.roster(id))
  }
  return [...tags]
}

export const custom: ReportTypeDefinition<CustomParams> = {
  type: 'custom',
  paramsSchema: CustomParams,

  async validateParams(db, tenantId, params) {
    const where = params.where ?? {}
    if (params.metric === 'completion') {
      if (params.group_by !== 'class' && params.group_by !== 'student') {
        throw new InvalidParams('params.group_by must be class or student for metric completion')
      }
      if (where.assignment_id !== undefined) {
        throw new InvalidParams('params.where.assignment_id does not apply to metric completion')
      }
    }
    if (where.class_id !== undefined) {
      await assertClassesExist(db, tenantId, [where.class_id], 'params.where.class_id')
    }
    if (where.student_id !== undefined) {
      await assertStudentExists(db, tenantId, where.student_id, 'params.where.student_id')
    }
    if (where.assignment_id !== undefined) {
      await assertAssignmentExists(db, tenantId, where.assignment_id, 'params.where.assignment_id')
    }
  },

  referencedAssignments: (params) =>
    params.where?.assignment_id === undefined ? [] : [params.where.assignment_id],

  // Admin: shared. Teacher: a where naming its own class (directly or through
  // an assignment) covers class data only, the same for any viewer: shared;
  // where.student_id of one of its students, or no where, is computed over
  // its own classes only: personal. Tutor, parent, student: only with
  // where.student_id of a student they see; the body is then what an admin
  // would get for that student, so shared. Everything else: forbidden.
  visibility(viewer, params, entities) {
    if (viewer.all) return 'shared'
    const where = params.where ?? {}
    if (viewer.role === 'teacher') {
      if (where.class_id !== undefined) return viewer.classIds.has(where.class_id) ? 'shared' : 'forbidden'
      if (where.assignment_id !== undefined) {
        const classId = entities?.assignmentClasses.get(where.assignment_id)
        return classId !== undefined && viewer.classIds.has(classId) ? 'shared' : 'forbidden'
      }
      if (where.student_id !== undefined)
        return viewer.studentIds.has(where.student_id) ? 'personal' : 'forbidden'
      return 'personal'
    }
    return where.student_id !== undefined && viewer.studentIds.has(where.student_id) ? 'shared' : 'forbidden'
  },

  async compute(ctx, params) {
    const s = scopeOf(ctx, params)
    const raw = params.group_by === 'student' || s.studentId !== undefined
    const rows =
      s.restricted !== null && s.restricted.length === 0
        ? []
        : params.metric === 'completion'
          ? params.group_by === 'student'
            ? await completionByStudent(ctx, s)
            : raw
              ? await completionRows(ctx, s, params)
              : await completionByClass(ctx, s)
          : params.group_by === 'student' && isTenantWide(s)
            ? await studentSummaryRows(ctx, s, params)
            : raw
              ? await submissionRows(ctx, s, params)
              : await summaryRows(ctx, s, params)

    const classIds =
      isTenantWide(s) || (s.restricted !== null && s.restricted.length === 0)
        ? []
        : (await scopedClasses(ctx.db, ctx.tenantId, s).orderBy('c.id').execute()).map((c) => c.id)
    return { data: { rows } satisfies CustomData, tags: customTags(ctx.tenantId, params, s, classIds) }
  },
}
