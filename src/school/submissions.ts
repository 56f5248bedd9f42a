// Submissions: read one; create, grade and delete within a transaction.
import { sql } from 'kysely'
import type { Db } from '../../db/database.js'
import type { Principal, Viewer } from '../access/viewer.js'
import { Conflict, Forbidden, InvalidBody, NotFound } from '../errors.js'
import { findAssignment } from './assignments.js'
import { mayManageClass, toIso, toIsoOrNull } from './common.js'
import { isEnrolled, requireStudent } from './users.js'

export interface Submission {
  id: number
  assignment_id: number
  student_id: number
  submitted_at: string
  score: number | null
  graded_at: string | null
}

export interface SubmissionInput {
  assignment_id: number
  student_id: number
  submitted_at?: string
}

/** A submission with what access checks need: its class, the class's teacher, the scale. */
export interface SubmissionContext {
  submission: Submission
  classId: number
  teacherId: number | null
  maxScore: number
}

const GRADERS_ONLY = 'Only the class teacher or an admin may grade or delete its submissions'

const submissionColumns = [
  'id',
  'assignment_id',
  'student_id',
  'submitted_at',
  sql<number | null>`score::float8`.as('score'),
  'graded_at',
] as const

function shape(row: {
  id: number
  assignment_id: number
  student_id: number
  submitted_at: Date
  score: number | null
  graded_at: Date | null
}): Submission {
  return {
    id: row.id,
    assignment_id: row.assignment_id,
    student_id: row.student_id,
    submitted_at: toIso(row.submitted_at),
    score: row.score === null ? null : Number(row.score),
    graded_at: toIsoOrNull(row.graded_at),
  }
}

function selectContext(db: Db, tenantId: number, id: number) {
  return db
    .selectFrom('submissions as s')
    .innerJoin('assignments as a', 'a.id', 's.assignment_id')
    .innerJoin('classes as c', 'c.id', 'a.class_id')
    .select([
      's.id',
      's.assignment_id',
      's.student_id',
      's.submitted_at',
      sql<number | null>`s.score::float8`.as('score'),
      's.graded_at',
      'a.class_id',
      sql<number>`a.max_score::float8`.as('max_score'),
      'c.teacher_id',
    ])
    .where('s.id', '=', id)
    .where('s.tenant_id', '=', tenantId)
}

type ContextRow = Awaited<ReturnType<ReturnType<typeof selectContext>['executeTakeFirstOrThrow']>>

function toContext(row: ContextRow): SubmissionContext {
  return {
    submission: shape(row),
    classId: row.class_id,
    teacherId: row.teacher_id,
    maxScore: Number(row.max_score),
  }
}

/** Absent and another tenant's submissions look the same: undefined. */
export async function findSubmission(
  db: Db,
  tenantId: number,
  id: number,
): Promise<SubmissionContext | undefined> {
  const row = await selectContext(db, tenantId, id).executeTakeFirst()
  return row && toContext(row)
}

/**
 * Admin: all; teacher: submissions to its classes' assignments; student,
 * parent, tutor: those of the students they see (themselves, children, tutees).
 */
export function canReadSubmission(viewer: Viewer, ctx: SubmissionContext): boolean {
  if (viewer.all) return true
  if (viewer.role === 'teacher') return viewer.classIds.has(ctx.classId)
  return viewer.studentIds.has(ctx.submission.student_id)
}

/**
 * Students submit for themselves, teachers for their classes, admins for
 * anyone. The student must be enrolled in the assignment's class (400 naming
 * body.student_id: the body references an invalid pair); a second submission
 * for the same assignment and student is a 409.
 */
export async function createSubmission(
  trx: Db,
  principal: Principal,
  input: SubmissionInput,
): Promise<Submission> {
  const { role } = principal
  if (role !== 'admin' && role !== 'teacher' && role !== 'student') {
    throw new Forbidden('Only students, their teachers and admins may create submissions')
  }
  if (role === 'student' && input.student_id !== principal.id) {
    throw new Forbidden('Students may only create their own submissions')
  }
  const assignment = await findAssignment(trx, principal.tenantId, input.assignment_id)
  if (!assignment) throw new InvalidBody('body.assignment_id does not exist')
  if (role === 'teacher' && !mayManageClass(principal, assignment)) {
    throw new Forbidden("Teachers may only create submissions for their own classes' assignments")
  }
  await requireStudent(trx, principal.tenantId, input.student_id)
  if (!(await isEnrolled(trx, assignment.class_id, input.student_id))) {
    throw new InvalidBody("body.student_id is not enrolled in the assignment's class")
  }
  // The unique (assignment_id, student_id) key decides duplicates, even under concurrency.
  const row = await trx
    .insertInto('submissions')
    .values({
      tenant_id: principal.tenantId,
      assignment_id: assignment.id,
      student_id: input.student_id,
      submitted_at: input.submitted_at ?? sql<Date>`now()`,
    })
    .onConflict((oc) => oc.columns(['assignment_id', 'student_id']).doNothing())
    .returning(submissionColumns)
    .executeTakeFirst()
  if (!row) throw new Conflict('A submission for this assignment and student already exists')
  return shape(row)
}

/** Sets (or with null clears) the score; graded_at follows. */
export async function gradeSubmission(
  trx: Db,
  principal: Principal,
  id: number,
  score: number | null,
): Promise<Submission> {
  // FOR SHARE on the assignment: max_score cannot change until this commits.
  const row = await selectContext(trx, principal.tenantId, id).forShare('a').executeTakeFirst()
  if (!row) throw new NotFound(`Submission ${id}`)
  const ctx = toContext(row)
  if (!mayManageClass(principal, { teacher_id: ctx.teacherId })) throw new Forbidden(GRADERS_ONLY)
  if (score !== null && score > ctx.maxScore) {
    throw new InvalidBody(`body.score must be <= ${ctx.maxScore}`)
  }
  const updated = await trx
    .updateTable('submissions')
    .set({ score, graded_at: score === null ? null : sql<Date>`now()` })
    .where('id', '=', id)
    .returning(submissionColumns)
    .executeTakeFirstOrThrow()
  return shape(updated)
}

export async function deleteSubmission(trx: Db, principal: Principal, id: number): Promise<null> {
  const row = await selectContext(trx, principal.tenantId, id).forUpdate('s').executeTakeFirst()
  if (!row) throw new NotFound(`Submission ${id}`)
  const ctx = toContext(row)
  if (!mayManageClass(principal, { teacher_id: ctx.teacherId })) throw new Forbidden(GRADERS_ONLY)
  await trx.deleteFrom('submissions').where('id', '=', id).execute()
  return null
}
