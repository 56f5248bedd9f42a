// Who may see what, per API.md: admin everything in its tenant; teacher the
// classes it teaches and their students; tutor its tutees; parent its
// children; student itself. Loaded once per request (or from cache) and then
// answered without further queries.
import type { Db, Role } from '../../db/database.js'

/** The authenticated caller, from the token. */
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

/** Loads what the principal may see from the database (a few indexed queries). */
export async function loadViewerData(db: Db, p: Principal): Promise<ViewerData> {
  const base = { id: p.id, tenantId: p.tenantId, role: p.role }
  switch (p.role) {
    case 'admin':
      return { ...base, all: true, classIds: [], studentIds: [], readableClassIds: [], accessTags: [] }
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
        accessTags: [accessTag.teaches(p.id), ...classIds.map(accessTag.roster)],
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
        accessTags: [accessTag.enrolledIn(p.id)],
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
