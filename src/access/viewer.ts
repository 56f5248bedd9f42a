// Who may see what, per API.md: admin everything in its tenant; teacher the
// classes it teaches and their students; tutor its tutees; parent its
// children; student itself. Loaded once per request (or from cache), in one
// statement, and then answered without further queries.
//
// Identity (docs/identity.md): the token names a user; the user's record is
// authoritative. The access set is built from the record's role and tenant,
// only when they equal the token's claims, and carries the `user:{id}` tag so
// that any change to the row (role, tenant, deletion) invalidates it.
import { sql } from 'kysely'
import type { Db, Role } from '../../db/database.js'
import { Unauthorized } from '../errors.js'

/** The authenticated caller, from the token's claims (checked against the record by loadViewerData). */
export interface Principal {
  id: number
  tenantId: number
  role: Role
}

export interface Viewer extends Principal {
  /** Admin: sees everything in its tenant. */
  readonly all: boolean
  /** Classes whose reports the viewer may see (a teacher's own classes). */
  readonly classIds: ReadonlySet<number>
  /** Students whose reports the viewer may see. */
  readonly studentIds: ReadonlySet<number>
  /** Classes the viewer may read (its own, or those of the students it sees). */
  readonly readableClassIds: ReadonlySet<number>
  /** Cache tags whose change alters this viewer's access. */
  readonly accessTags: readonly string[]
}

/** The plain form of a Viewer, for storing in a cache. */
export interface ViewerData extends Principal {
  all: boolean
  classIds: number[]
  studentIds: number[]
  readableClassIds: number[]
  accessTags: string[]
}

export function toViewer(data: ViewerData): Viewer {
  return {
    id: data.id,
    tenantId: data.tenantId,
    role: data.role,
    all: data.all,
    classIds: new Set(data.classIds),
    studentIds: new Set(data.studentIds),
    readableClassIds: new Set(data.readableClassIds),
    accessTags: data.accessTags,
  }
}

/** Tags advanced when access changes; see invalidation. */
export const accessTag = {
  /** Advanced by any change to the user's row (issue 8's triggers on users). */
  user: (userId: number) => `user:${userId}`,
  teaches: (teacherId: number) => `teaches:${teacherId}`,
  roster: (classId: number) => `roster:${classId}`,
  tutees: (tutorId: number) => `tutees:${tutorId}`,
  children: (parentId: number) => `children:${parentId}`,
  enrolledIn: (studentId: number) => `enrolled:${studentId}`,
}

/** RFC 6750 §3.1 (https://www.rfc-editor.org/rfc/rfc6750#section-3.1): such a token is not a valid credential. */
export function identityMismatch(): Error {
  // One message for a missing user, another tenant and another role: the reply
  // must not tell a token holder which of them it is.
  return new Unauthorized('The token does not name a current user with this role and tenant')
}

/** The token's claims agree with the identity in a (freshly loaded or still valid) access set. */
export function matchesIdentity(viewer: Principal, claims: Principal): boolean {
  return viewer.id === claims.id && viewer.tenantId === claims.tenantId && viewer.role === claims.role
}

interface AccessRow {
  id: number
  tenant_id: number
  role: Role
  /** A teacher's classes. */
  class_ids: number[]
  /** A teacher's classes' students, a parent's children, a tutor's tutees, a student itself. */
  student_ids: number[]
  /** The classes those students (not a teacher's) are enrolled in. */
  student_class_ids: number[]
}

/**
 * Loads what the principal may see from the database, starting from the
 * user's record: a user that does not exist, or whose tenant or role differs
 * from the claims, is a 401. One statement for every role: every request
 * outside the report pipeline loads it, and one snapshot sees the record and
 * the links together.
 */
export async function loadViewerData(db: Db, claims: Principal): Promise<ViewerData> {
  const { rows } = await sql<AccessRow>`
    with u as (select id, tenant_id, role from users where id = ${claims.id}),
    taught as (
      select c.id from classes c, u
      where u.role = 'teacher' and c.tenant_id = u.tenant_id and c.teacher_id = u.id),
    seen as (
      select distinct e.student_id from enrollments e where e.class_id in (select id from taught)
      union all
      select g.student_id from guardians g, u
      where u.role = 'parent' and g.parent_id = u.id and g.tenant_id = u.tenant_id
      union all
      select l.student_id from tutor_links l, u
      where u.role = 'tutor' and l.tutor_id = u.id and l.tenant_id = u.tenant_id
      union all
      select u.id from u where u.role = 'student')
    select u.id, u.tenant_id, u.role,
      coalesce((select json_agg(id order by id) from taught), '[]'::json) as class_ids,
      coalesce((select json_agg(student_id order by student_id) from seen), '[]'::json) as student_ids,
      coalesce((
        select json_agg(class_id order by class_id) from (
          select distinct e.class_id from enrollments e
          where u.role <> 'teacher' and e.student_id in (select student_id from seen)) sc),
        '[]'::json) as student_class_ids
    from u`.execute(db)
  const user = rows[0]
  if (!user) throw identityMismatch()
  const p: Principal = { id: user.id, tenantId: user.tenant_id, role: user.role }
  if (!matchesIdentity(p, claims)) throw identityMismatch()
  const base = { id: p.id, tenantId: p.tenantId, role: p.role }
  const userTag = accessTag.user(p.id)
  switch (p.role) {
    case 'admin':
      return { ...base, all: true, classIds: [], studentIds: [], readableClassIds: [], accessTags: [userTag] }
    case 'teacher':
      return {
        ...base,
        all: false,
        classIds: user.class_ids,
        studentIds: user.student_ids,
        readableClassIds: user.class_ids,
        accessTags: [userTag, accessTag.teaches(p.id), ...user.class_ids.map(accessTag.roster)],
      }
    case 'tutor':
    case 'parent':
      return {
        ...base,
        all: false,
        classIds: [],
        studentIds: user.student_ids,
        readableClassIds: user.student_class_ids,
        accessTags: [
          userTag,
          p.role === 'tutor' ? accessTag.tutees(p.id) : accessTag.children(p.id),
          ...user.student_ids.map(accessTag.enrolledIn),
        ],
      }
    case 'student':
      return {
        ...base,
        all: false,
        classIds: [],
        studentIds: [p.id],
        readableClassIds: user.student_class_ids,
        accessTags: [userTag, accessTag.enrolledIn(p.id)],
      }
  }
}

export async function loadViewer(db: Db, p: Principal): Promise<Viewer> {
  return toViewer(await loadViewerData(db, p))
}

export function canSeeStudent(viewer: Viewer, studentId: number): boolean {
  return viewer.all || viewer.studentIds.has(studentId)
}

/** May see reports about the class (admin, or the class's teacher). */
export function canSeeClassReports(viewer: Viewer, classId: number): boolean {
  return viewer.all || viewer.classIds.has(classId)
}

/** May read the class's roster, assignments and materials. */
export function canReadClass(viewer: Viewer, classId: number): boolean {
  return viewer.all || viewer.readableClassIds.has(classId)
}
