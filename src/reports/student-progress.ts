// student_progress {student_id}: one student's work per class it is enrolled
// in, and overall. Definitions (API.md), per class C:
// - assignments_total: assignments of C (not affected by from/to);
// - submitted: the student's submissions to C's assignments (within from/to);
// - graded: those of them with a score;
// - on_time: those of them with submitted_at <= the assignment's due_at;
// - average_score_pct: mean score % over the graded ones (null if none);
// - materials_completion_pct: mean over C's materials of the student's
//   percent, no progress row counting as 0 (null if C has no materials;
//   material progress has no submission time, so from/to do not apply).
// `overall` has the same fields over all those classes: counts are sums, the
// average is over all graded submissions (not a mean of class means), and the
// completion is the mean over all materials of those classes.
// Filter class_id keeps only that class (an empty report if not enrolled).
import { sql } from 'kysely'
import { type Static, Type } from 'typebox'
import { canSeeStudent } from '../access/viewer.js'
import { MAX_INT4 } from '../input-schemas.js'
import { assertStudentExists } from './entities.js'
import { submittedInRange } from './filters.js'
import { countInt, round2, scorePct } from './sql.js'
import { tag } from './tags.js'
import type { ReportTypeDefinition } from './types.js'

export const StudentProgressParams = Type.Object(
  { student_id: Type.Integer({ minimum: 1, maximum: MAX_INT4, description: 'The student' }) },
  { additionalProperties: false },
)
export type StudentProgressParams = Static<typeof StudentProgressParams>

export interface ProgressFigures {
  assignments_total: number
  submitted: number
  graded: number
  on_time: number
  average_score_pct: number | null
  materials_completion_pct: number | null
}

export interface ClassProgress extends ProgressFigures {
  class_id: number
  class_name: string
}

export interface StudentProgressData {
  classes: ClassProgress[]
  overall: ProgressFigures
}

/** Per class plus one grand total row, whose class_id is null (class ids never are). */
const byClassAndOverall = (column: string) => sql`grouping sets ((${sql.ref(column)}), ())`

export const studentProgress: ReportTypeDefinition<StudentProgressParams> = {
  type: 'student_progress',
  paramsSchema: StudentProgressParams,

  async validateParams(db, tenantId, params) {
    await assertStudentExists(db, tenantId, params.student_id, 'params.student_id')
  },

  // The body is the same for every viewer allowed to see the student.
  visibility: (viewer, params) => (canSeeStudent(viewer, params.student_id) ? 'shared' : 'forbidden'),

  async compute({ db, tenantId, filters }, params) {
    const studentId = params.student_id
    const classes = await db
      .selectFrom('enrollments as e')
      .innerJoin('classes as c', 'c.id', 'e.class_id')
      .select(['c.id as class_id', 'c.name as class_name'])
      .where('e.tenant_id', '=', tenantId)
      .where('e.student_id', '=', studentId)
      .$if(filters.class_id !== undefined, (q) => q.where('c.id', '=', filters.class_id as number))
      .orderBy('c.id')
      .execute()
    const classIds = classes.map((c) => c.class_id)
    // Tags, by what is read:
    // - student:S: S's enrollments (which classes are listed), S's
    //   submissions and grades, S's material progress;
    // - class:C per listed class: C's assignments (assignments_total; their
    //   max_score and due_at for score % and on-time; a deletion takes S's
    //   work with it) and C's materials (the completion's denominator).
    // Not class-work:C (other students' work) nor roster:C (other students'
    // enrollments): neither is read. Class names cannot change through the API.
    const tags = [tag.student(studentId), ...classIds.map(tag.class)]
    const empty: ProgressFigures = {
      assignments_total: 0,
      submitted: 0,
      graded: 0,
      on_time: 0,
      average_score_pct: null,
      materials_completion_pct: null,
    }
    if (classIds.length === 0)
      return { data: { classes: [], overall: empty } satisfies StudentProgressData, tags }

    const [assignments, work, materials] = await Promise.all([
      db
        .selectFrom('assignments as a')
        .select([sql<number | null>`a.class_id`.as('class_id'), countInt().as('assignments_total')])
        .where('a.class_id', 'in', classIds)
        .groupBy(byClassAndOverall('a.class_id'))
        .execute(),
      db
        .selectFrom('submissions as s')
        .innerJoin('assignments as a', 'a.id', 's.assignment_id')
        .select([
          sql<number | null>`a.class_id`.as('class_id'),
          countInt().as('submitted'),
          countInt(sql.ref('s.score')).as('graded'),
          sql<number>`(count(*) filter (where s.submitted_at <= a.due_at))::int`.as('on_time'),
          round2(sql`avg(${scorePct('s.score', 'a.max_score')})`).as('average_score_pct'),
        ])
        .where('s.tenant_id', '=', tenantId)
        .where('s.student_id', '=', studentId)
        .where('a.class_id', 'in', classIds)
        .where(submittedInRange('s.submitted_at', filters))
        .groupBy(byClassAndOverall('a.class_id'))
        .execute(),
      db
        .selectFrom('materials as m')
        .leftJoin('material_progress as mp', (join) =>
          join.onRef('mp.material_id', '=', 'm.id').on('mp.student_id', '=', studentId),
        )
        .select([
          sql<number | null>`m.class_id`.as('class_id'),
          round2(sql`avg(coalesce(mp.percent, 0))`).as('materials_completion_pct'),
        ])
        .where('m.class_id', 'in', classIds)
        .groupBy(byClassAndOverall('m.class_id'))
        .execute(),
    ])

    const figures = (classId: number | null): ProgressFigures => {
      const a = assignments.find((r) => r.class_id === classId)
      const w = work.find((r) => r.class_id === classId)
      const m = materials.find((r) => r.class_id === classId)
      return {
        assignments_total: a?.assignments_total ?? 0,
        submitted: w?.submitted ?? 0,
        graded: w?.graded ?? 0,
        on_time: w?.on_time ?? 0,
        average_score_pct: w?.average_score_pct ?? null,
        materials_completion_pct: m?.materials_completion_pct ?? null,
      }
    }
    const data: StudentProgressData = {
      classes: classes.map((c) => ({
        class_id: c.class_id,
        class_name: c.class_name,
        ...figures(c.class_id),
      })),
      overall: figures(null),
    }
    return { data, tags }
  },
}
