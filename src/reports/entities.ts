// Lookups of the entities report params refer to, always within one tenant:
// an id of another tenant is reported exactly like an id that does not exist.
import type { Db } from '../../db/database.js'
import { InvalidParams } from '../errors.js'

export async function assertStudentExists(db: Db, tenantId: number, studentId: number, field: string) {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('id', '=', studentId)
    .where('tenant_id', '=', tenantId)
    .where('role', '=', 'student')
    .executeTakeFirst()
  if (!row) throw new InvalidParams(`${field} does not exist`)
}

export async function assertClassesExist(
  db: Db,
  tenantId: number,
  classIds: readonly number[],
  field: string,
) {
  if (classIds.length === 0) return
  const rows = await db
    .selectFrom('classes')
    .select('id')
    .where('id', 'in', classIds)
    .where('tenant_id', '=', tenantId)
    .execute()
  const found = new Set(rows.map((r) => r.id))
  const missing = classIds.find((id) => !found.has(id))
  if (missing !== undefined) {
    throw new InvalidParams(
      classIds.length === 1 ? `${field} does not exist` : `${field}: class ${missing} does not exist`,
    )
  }
}

export async function assertAssignmentExists(db: Db, tenantId: number, assignmentId: number, field: string) {
  const classes = await assignmentClasses(db, tenantId, [assignmentId])
  if (!classes.has(assignmentId)) throw new InvalidParams(`${field} does not exist`)
}

/** assignment id → class id, for the given assignments that exist in the tenant (one query). */
export async function assignmentClasses(
  db: Db,
  tenantId: number,
  assignmentIds: readonly number[],
): Promise<Map<number, number>> {
  const ids = [...new Set(assignmentIds)]
  if (ids.length === 0) return new Map()
  const rows = await db
    .selectFrom('assignments')
    .select(['id', 'class_id'])
    .where('id', 'in', ids)
    .where('tenant_id', '=', tenantId)
    .execute()
  return new Map(rows.map((r) => [r.id, r.class_id]))
}
