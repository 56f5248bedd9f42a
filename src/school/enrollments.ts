// Enrollments: a student joining or leaving a class. They change who sees
// what, so their tags include the access tags of the affected viewers.
import type { Db } from '../../db/database.js'
import type { Principal } from '../access/viewer.js'
import { Conflict, Forbidden, InvalidBody, NotFound } from '../errors.js'
import { findClass } from './classes.js'
import { mayManageClass, toIso } from './common.js'
import { requireStudent } from './users.js'

export interface EnrollmentInput {
  class_id: number
  student_id: number
}

export interface Enrollment extends EnrollmentInput {
  created_at: string
}

const ROSTER_OWNERS = "Only the class teacher or an admin may change the class's roster"

export async function createEnrollment(
  trx: Db,
  principal: Principal,
  input: EnrollmentInput,
): Promise<Enrollment> {
  if (principal.role !== 'admin' && principal.role !== 'teacher') throw new Forbidden(ROSTER_OWNERS)
  const klass = await findClass(trx, principal.tenantId, input.class_id)
  if (!klass) throw new InvalidBody('body.class_id does not exist')
  if (!mayManageClass(principal, klass)) throw new Forbidden(ROSTER_OWNERS)
  await requireStudent(trx, principal.tenantId, input.student_id)
  const row = await trx
    .insertInto('enrollments')
    .values({ tenant_id: principal.tenantId, class_id: klass.id, student_id: input.student_id })
    .onConflict((oc) => oc.columns(['class_id', 'student_id']).doNothing())
    .returning(['class_id', 'student_id', 'created_at'])
    .executeTakeFirst()
  if (!row) throw new Conflict('The student is already enrolled in this class')
  return { class_id: row.class_id, student_id: row.student_id, created_at: toIso(row.created_at) }
}

/** 404 when the class is absent (or another tenant's) or the student is not enrolled in it. */
export async function deleteEnrollment(
  trx: Db,
  principal: Principal,
  classId: number,
  studentId: number,
): Promise<null> {
  const klass = await findClass(trx, principal.tenantId, classId)
  if (!klass) throw new NotFound(`Class ${classId}`)
  if (!mayManageClass(principal, klass)) throw new Forbidden(ROSTER_OWNERS)
  const removed = await trx
    .deleteFrom('enrollments')
    .where('class_id', '=', classId)
    .where('student_id', '=', studentId)
    .returning('student_id')
    .executeTakeFirst()
  if (!removed) throw new NotFound(`Enrollment of student ${studentId} in class ${classId}`)
  return null
}
