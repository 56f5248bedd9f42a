// Guardian and tutor links: who a parent or a tutor may see. Admin-managed;
// each change advances the access tag of the parent or tutor, so a removed
// link takes effect on the very next request, cached or not.
import { sql } from 'kysely'
import type { Db } from '../../db/database.js'
import { accessTag, type Principal } from '../access/viewer.js'
import { Conflict, Forbidden, NotFound } from '../errors.js'
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
): Promise<null> {
  requireAdmin(principal)
  const k = KINDS[kind]
  await requireUserWithRole(trx, principal.tenantId, input.holderId, k.role, k.holder)
  await requireUserWithRole(trx, principal.tenantId, input.studentId, 'student', 'student_id')
  // The two link tables differ only in the holder column's name.
  const inserted = await sql<{ student_id: number }>`
    insert into ${sql.table(k.table)} (tenant_id, ${sql.ref(k.holder)}, student_id)
    values (${principal.tenantId}, ${input.holderId}, ${input.studentId})
    on conflict do nothing
    returning student_id`.execute(trx)
  if (inserted.rows.length === 0) throw new Conflict(`The ${kind} link already exists`)
  return null
}

/** 404 when the link does not exist in the caller's tenant. */
export async function deleteLink(
  trx: Db,
  principal: Principal,
  kind: LinkKind,
  input: LinkInput,
): Promise<null> {
  requireAdmin(principal)
  const k = KINDS[kind]
  const removed = await sql<{ student_id: number }>`
    delete from ${sql.table(k.table)}
    where ${sql.ref(k.holder)} = ${input.holderId}
      and student_id = ${input.studentId}
      and tenant_id = ${principal.tenantId}
    returning student_id`.execute(trx)
  if (removed.rows.length === 0) throw new NotFound(`The ${kind} link of student ${input.studentId}`)
  return null
}
