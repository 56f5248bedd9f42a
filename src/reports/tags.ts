// The vocabulary of data tags: what a report computation read, and what a
// mutation touched. A mutation advances the tags it touched; an entry is
// valid only while none of its tags moved. Tags are narrow by entity and by
// kind of data, so that a change leaves every report that did not read it
// cached (grading s1 in class 3 leaves s2's progress alone; a new enrollment
// leaves the grade averages alone). What each change advances is decided by
// the database triggers (TRIGGERED_TABLES in
// db/migrations/2026-12-01-001-invalidation-log.ts, docs/invalidation.md),
// for every writer; each report type lists what it returns.
import { accessTag } from '../access/viewer.js'

export const tag = {
  /** A student's own submissions, grades, material progress and enrollments. */
  student: (studentId: number) => `student:${studentId}`,
  /** A class's structure: its set of assignments and their fields (title, max_score, due_at), its materials. */
  class: (classId: number) => `class:${classId}`,
  /**
   * Submissions and grades on the class's assignments, and the assignment
   * changes that alter them (max_score, due_at, deletion).
   */
  classWork: (classId: number) => `class-work:${classId}`,
  /** Material progress of any student on the class's materials. */
  classProgress: (classId: number) => `class-progress:${classId}`,
  /** The class's set of materials (no API mutation changes it today). */
  classMaterials: (classId: number) => `class-materials:${classId}`,
  /** The class's enrollments: the very tag of access (a teacher's students), one tag for data and access. */
  roster: accessTag.roster,
  /** One assignment's fields and its submissions. */
  assignment: (assignmentId: number) => `assignment:${assignmentId}`,
  /** Any submission or grade of the tenant, or an assignment change that alters score % / on-time, or a deletion. */
  schoolWork: (tenantId: number) => `school-work:${tenantId}`,
  /** Any material progress of the tenant. */
  schoolProgress: (tenantId: number) => `school-progress:${tenantId}`,
  /** Any enrollment of the tenant. */
  schoolRoster: (tenantId: number) => `school-roster:${tenantId}`,
  /** The tenant's set of assignments and their fields (created, changed, deleted). */
  schoolStructure: (tenantId: number) => `school-structure:${tenantId}`,
  /** The tenant's set of materials (no API mutation changes it today). */
  schoolMaterials: (tenantId: number) => `school-materials:${tenantId}`,
  /** Every cache entry of the tenant (DELETE /cache). Added by the report cache. */
  tenant: (tenantId: number) => `tenant:${tenantId}`,
  /** One report definition and all its cached results. Added by the report cache. */
  report: (reportId: number) => `report:${reportId}`,
}
