// Who may see what, per API.md: admin everything in its tenant; teacher the
// classes it teaches and their students; tutor its tutees; parent its
// children; student itself. Loaded once per request (or from cache) and then
// answered without further queries.
//
// Identity (docs/identity.md): the token names a user; the user's record is
// authoritative. The access set is built from the record's role and tenant,
// only when they equal the token's claims, and carries the `user:{id}` tag so
// that any change to the row (role, tenant, deletion) invalidates it.
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

async function classesOfStudents(db: Db, studentIds: number[]): Promise<number[]> {
  if (studentIds.length === 0) return []
  const rows = await db
    .selectFrom('enrollments')
    .select('class_id')
    .distinct()
    .where('student_id', 'in', studentIds)
    .execute()
  return rows.map((r) => r.class_id)
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

/**
 * Loads what the principal may see from the database (a few indexed queries),
 * starting from the user's record: a user that does not exist, or whose tenant
 * or role differs from the claims, is a 401 and nothing is loaded.
 */
export async function loadViewerData(db: Db, claims: Principal): Promise<ViewerData> {
  const user = await db
    .selectFrom('users')
    .select(['id', 'tenant_id', 'role'])
    .where('id', '=', claims.id)
    .executeTakeFirst()
  if (!user) throw identityMismatch()
  const p: Principal = { id: user.id, tenantId: user.tenant_id, role: user.role }
  if (!matchesIdentity(p, claims)) throw identityMismatch()
  const base = { id: p.id, tenantId: p.tenantId, role: p.role }
  const userTag = accessTag.user(p.id)
  switch (p.role) {
    case 'admin':
      return { ...base, all: true, classIds: [], studentIds: [], readableClassIds: [], accessTags: [userTag] }
    case 'teacher': {
      const classes = await db
        .selectFrom('classes')
        .select('id')
        .where('tenant_id', '=', p.tenantId)
        .where('teacher_id', '=', p.id)
        .orderBy('id')
        .execute()
      const classIds = classes.map((c) => c.id)
      const students =
        classIds.length === 0
          ? []
          : await db
              .selectFrom('enrollments')
              .select('student_id')
              .distinct()
              .where('class_id', 'in', classIds)
              .orderBy('student_id')
              .execute()
      return {
        ...base,
        all: false,
        classIds,
        studentIds: students.map((s) => s.student_id),
        readableClassIds: classIds,
        accessTags: [userTag, accessTag.teaches(p.id), ...classIds.map(accessTag.roster)],
      }
    }
    case 'tutor':
    case 'parent': {
      const rows =
        p.role === 'tutor'
          ? await db
              .selectFrom('tutor_links')
              .select('student_id')
              .where('tutor_id', '=', p.id)
              .where('tenant_id', '=', p.tenantId)
              .orderBy('student_id')
              .execute()
          : await db
              .selectFrom('guardians')
              .select('student_id')
              .where('parent_id', '=', p.id)
              .where('tenant_id', '=', p.tenantId)
              .orderBy('student_id')
              .execute()
      const studentIds = rows.map((r) => r.student_id)
      return {
        ...base,
        all: false,
        classIds: [],
        studentIds,
        readableClassIds: await classesOfStudents(db, studentIds),
        accessTags: [
          userTag,
          p.role === 'tutor' ? accessTag.tutees(p.id) : accessTag.children(p.id),
          ...studentIds.map(accessTag.enrolledIn),
        ],
      }
    }
    case 'student':
      return {
        ...base,
        all: false,
        classIds: [],
        studentIds: [p.id],
        readableClassIds: await classesOfStudents(db, [p.id]),
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
