// Guardian and tutor links: who a parent or a tutor may see. Admin-managed;
// each change advances the access tag of the parent or tutor, so a removed
// link takes effect on the very next request, cached or not.
import type { Db } from '../../db/database.js'
import { accessTag, type Principal } from '../access/viewer.js'
import { Conflict, Forbidden, NotFound } from '../errors.js'
import type { Mutation } from './mutation-tags.js'
import { requireUserWithRole } from './users.js'

export type LinkKind = 'guardian' | 'tutor'

export interface LinkInput {
  /** The parent (guardian links) or the tutor (tutor links). */
  holderId: number
  studentId: number
}

const KINDS = {
  guardian: { table: 'guardians', holder: 'parent_id', role: 'parent', tag: accessTag.children },
  tutor: { table: 'tutor_links', holder: 'tutor_id', role: 'tutor', tag: accessTag.tutees },
} as const

function requireAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new Forbidden('Only an admin may manage guardian and tutor links')
}

export async function createLink(
  trx: Db,
  principal: Principal,
  kind: LinkKind,
  input: LinkInput,
): Promise<Mutation<null>> {
  requireAdmin(principal)
  const k = KINDS[kind]
  await requireUserWithRole(trx, principal.tenantId, input.holderId, k.role, k.holder)
  await requireUserWithRole(trx, principal.tenantId, input.studentId, 'student', 'student_id')
  const values = { tenant_id: principal.tenantId, student_id: input.studentId }
  const inserted =
    kind === 'guardian'
      ? await trx
          .insertInto('guardians')
          .values({ ...values, parent_id: input.holderId })
          .onConflict((oc) => oc.columns(['parent_id', 'student_id']).doNothing())
          .returning('student_id')
          .executeTakeFirst()
      : await trx
          .insertInto('tutor_links')
          .values({ ...values, tutor_id: input.holderId })
          .onConflict((oc) => oc.columns(['tutor_id', 'student_id']).doNothing())
          .returning('student_id')
          .executeTakeFirst()
  if (!inserted) throw new Conflict(`The ${kind} link already exists`)
  return { result: null, tags: [k.tag(input.holderId)] }
}

/** 404 when the link does not exist in the caller's tenant. */
export async function deleteLink(
  trx: Db,
  principal: Principal,
  kind: LinkKind,
  input: LinkInput,
): Promise<Mutation<null>> {
  requireAdmin(principal)
  const k = KINDS[kind]
  const removed =
    kind === 'guardian'
      ? await trx
          .deleteFrom('guardians')
          .where('parent_id', '=', input.holderId)
          .where('student_id', '=', input.studentId)
          .where('tenant_id', '=', principal.tenantId)
          .returning('student_id')
          .executeTakeFirst()
      : await trx
          .deleteFrom('tutor_links')
          .where('tutor_id', '=', input.holderId)
          .where('student_id', '=', input.studentId)
          .where('tenant_id', '=', principal.tenantId)
          .returning('student_id')
          .executeTakeFirst()
  if (!removed) throw new NotFound(`The ${kind} link of student ${input.studentId}`)
  return { result: null, tags: [k.tag(input.holderId)] }
}
