// Assignments: read one, and create / update / delete within a transaction.
// Only the class's teacher and admins may change them.
import { sql } from 'kysely'
import type { Db } from '../../db/database.js'
import type { Principal } from '../access/viewer.js'
import { Conflict, Forbidden, InvalidBody, NotFound } from '../errors.js'
import { findClass } from './classes.js'
import { mayManageClass, toIso } from './common.js'

export interface Assignment {
  id: number
  class_id: number
  title: string
  max_score: number
  due_at: string
}

export interface AssignmentInput {
  class_id: number
  title: string
  max_score: number
  due_at: string
}

export type AssignmentPatch = Partial<Pick<AssignmentInput, 'title' | 'max_score' | 'due_at'>>

interface AssignmentWithTeacher extends Assignment {
  teacher_id: number | null
}

const NOT_YOURS = 'Only the class teacher or an admin may change its assignments'

function selectAssignment(db: Db, tenantId: number, id: number) {
  return db
    .selectFrom('assignments as a')
    .innerJoin('classes as c', 'c.id', 'a.class_id')
    .select([
      'a.id',
      'a.class_id',
      'a.title',
      sql<number>`a.max_score::float8`.as('max_score'),
      'a.due_at',
      'c.teacher_id',
    ])
    .where('a.id', '=', id)
    .where('a.tenant_id', '=', tenantId)
}

function shape(row: { id: number; class_id: number; title: string; max_score: number; due_at: Date }) {
  return {
    id: row.id,
    class_id: row.class_id,
    title: row.title,
    max_score: Number(row.max_score),
    due_at: toIso(row.due_at),
  }
}

/** The assignment and its class's teacher, or undefined (absent or another tenant's). */
export async function findAssignment(
  db: Db,
  tenantId: number,
  id: number,
): Promise<AssignmentWithTeacher | undefined> {
  const row = await selectAssignment(db, tenantId, id).executeTakeFirst()
  return row && { ...shape(row), teacher_id: row.teacher_id }
}

export async function createAssignment(
  trx: Db,
  principal: Principal,
  input: AssignmentInput,
): Promise<Assignment> {
  if (principal.role !== 'admin' && principal.role !== 'teacher') throw new Forbidden(NOT_YOURS)
  const klass = await findClass(trx, principal.tenantId, input.class_id)
  if (!klass) throw new InvalidBody('body.class_id does not exist')
  if (!mayManageClass(principal, klass)) throw new Forbidden(NOT_YOURS)
  const row = await trx
    .insertInto('assignments')
    .values({
      tenant_id: principal.tenantId,
      class_id: klass.id,
      title: input.title,
      max_score: input.max_score,
      due_at: input.due_at,
    })
    .returning(['id', 'class_id', 'title', sql<number>`max_score::float8`.as('max_score'), 'due_at'])
    .executeTakeFirstOrThrow()
  return shape(row)
}

/**
 * Lowering max_score below a score already given is a 409: the grades would
 * exceed the scale (RFC 9110 §15.5.10, conflict with the resource's state).
 */
export async function updateAssignment(
  trx: Db,
  principal: Principal,
  id: number,
  patch: AssignmentPatch,
): Promise<Assignment> {
  // Locked against concurrent grading (which holds FOR SHARE) so the max-score check stays true.
  const current = await selectAssignment(trx, principal.tenantId, id).forNoKeyUpdate('a').executeTakeFirst()
  if (!current) throw new NotFound(`Assignment ${id}`)
  if (!mayManageClass(principal, current)) throw new Forbidden(NOT_YOURS)
  if (patch.max_score !== undefined) {
    const top = await trx
      .selectFrom('submissions')
      .select(sql<number | null>`max(score)::float8`.as('top'))
      .where('assignment_id', '=', id)
      .executeTakeFirstOrThrow()
    if (top.top !== null && Number(top.top) > patch.max_score) {
      throw new Conflict(`body.max_score ${patch.max_score} is below an existing score of ${Number(top.top)}`)
    }
  }
  const row = await trx
    .updateTable('assignments')
    .set(patch)
    .where('id', '=', id)
    .returning(['id', 'class_id', 'title', sql<number>`max_score::float8`.as('max_score'), 'due_at'])
    .executeTakeFirstOrThrow()
  return shape(row)
}

/** Deletes the assignment and (by cascade) its submissions. */
export async function deleteAssignment(trx: Db, principal: Principal, id: number): Promise<null> {
  const current = await selectAssignment(trx, principal.tenantId, id).forUpdate('a').executeTakeFirst()
  if (!current) throw new NotFound(`Assignment ${id}`)
  if (!mayManageClass(principal, current)) throw new Forbidden(NOT_YOURS)
  await trx.deleteFrom('assignments').where('id', '=', id).execute()
  return null
}
