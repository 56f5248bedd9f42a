// Users: the caller's own row, the admin's directory, one user's links, and
// the checks mutations make on a student referenced in a body.
import type { Db, Role } from '../../db/database.js'
import { canSeeStudent, type Viewer } from '../access/viewer.js'
import { InvalidBody } from '../errors.js'

export interface UserSummary {
  id: number
  name: string
  email: string
  role: Role
}

export interface Me extends UserSummary {
  tenant_id: number
}

export interface UserDetail extends UserSummary {
  /** Taught (teacher) or enrolled in (student). */
  classes: number[]
  /** A parent's children. */
  children: number[]
  /** A tutor's tutees. */
  tutees: number[]
}

export interface UserPage {
  items: UserSummary[]
  next_cursor: string | null
}

export async function findUser(db: Db, tenantId: number, id: number): Promise<Me | undefined> {
  return db
    .selectFrom('users')
    .select(['id', 'tenant_id', 'role', 'name', 'email'])
    .where('id', '=', id)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst()
}

/** Keyset pagination by id: `after` is the last id of the previous page. */
export async function listUsers(
  db: Db,
  tenantId: number,
  query: { role?: Role; limit: number; after?: number },
): Promise<UserPage> {
  let q = db
    .selectFrom('users')
    .select(['id', 'name', 'email', 'role'])
    .where('tenant_id', '=', tenantId)
    .orderBy('id')
    .limit(query.limit + 1)
  if (query.role) q = q.where('role', '=', query.role)
  if (query.after !== undefined) q = q.where('id', '>', query.after)
  const rows = await q.execute()
  const items = rows.slice(0, query.limit)
  const more = rows.length > query.limit
  return { items, next_cursor: more ? String(items[items.length - 1].id) : null }
}

/** Self, admin, or someone who sees the user as a student (teacher, tutor, parent). */
export function canSeeUser(viewer: Viewer, userId: number): boolean {
  return viewer.id === userId || canSeeStudent(viewer, userId)
}

export async function userDetail(db: Db, user: Me): Promise<UserDetail> {
  const ids = async (query: Promise<{ id: number }[]>) => (await query).map((r) => r.id)
  const { id, tenant_id: tenantId } = user
  const classes =
    user.role === 'teacher'
      ? await ids(
          db
            .selectFrom('classes')
            .select('id')
            .where('teacher_id', '=', id)
            .where('tenant_id', '=', tenantId)
            .orderBy('id')
            .execute(),
        )
      : user.role === 'student'
        ? await ids(
            db
              .selectFrom('enrollments')
              .select('class_id as id')
              .where('student_id', '=', id)
              .where('tenant_id', '=', tenantId)
              .orderBy('class_id')
              .execute(),
          )
        : []
  const children =
    user.role === 'parent'
      ? await ids(
          db
            .selectFrom('guardians')
            .select('student_id as id')
            .where('parent_id', '=', id)
            .where('tenant_id', '=', tenantId)
            .orderBy('student_id')
            .execute(),
        )
      : []
  const tutees =
    user.role === 'tutor'
      ? await ids(
          db
            .selectFrom('tutor_links')
            .select('student_id as id')
            .where('tutor_id', '=', id)
            .where('tenant_id', '=', tenantId)
            .orderBy('student_id')
            .execute(),
        )
      : []
  return { id, name: user.name, email: user.email, role: user.role, classes, children, tutees }
}

/**
 * A body's student_id must name a student of the tenant; another tenant's
 * user is reported exactly like a missing one.
 */
/** 400 naming `body.<field>` unless the id is a user of the tenant with that role. */
export async function requireUserWithRole(
  db: Db,
  tenantId: number,
  userId: number,
  role: Role,
  field: string,
): Promise<void> {
  const user = await db
    .selectFrom('users')
    .select('role')
    .where('id', '=', userId)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst()
  if (!user) throw new InvalidBody(`body.${field} does not exist`)
  if (user.role !== role) throw new InvalidBody(`body.${field} is not a ${role}`)
}

export async function requireStudent(db: Db, tenantId: number, studentId: number): Promise<void> {
  await requireUserWithRole(db, tenantId, studentId, 'student', 'student_id')
}

/** Used inside mutations: locks the enrollment row it finds. */
export async function isEnrolled(db: Db, classId: number, studentId: number): Promise<boolean> {
  const row = await db
    .selectFrom('enrollments')
    .select('student_id')
    .where('class_id', '=', classId)
    .where('student_id', '=', studentId)
    // Holds off a concurrent un-enrollment until the caller's transaction ends.
    .forKeyShare()
    .executeTakeFirst()
  return row !== undefined
}
