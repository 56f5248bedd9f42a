// Which cache tags each school-data mutation touches: the one table to review
// when a report seems stale after a change (the vocabulary is in
// src/reports/tags.ts; each report type says which tags it reads and why).
// Routes advance these tags through app.invalidate after the transaction
// commits and before replying.
//
// Every change advances the narrow tags of the entities it touched and the
// tenant-wide tag of its kind of data (school-work, -progress, -roster,
// -structure), so a tenant-wide aggregate depends only on the kinds it reads.
// Student reports read `class:C` for every class they cover, which is why
// assignment changes (a rescale, a deletion of graded work) need no
// per-student tags.
import { accessTag } from '../access/viewer.js'
import { tag } from '../reports/tags.js'

/** The `reason` passed to app.invalidate, one per mutation route. */
export type MutationReason =
  | 'submission.create'
  | 'submission.grade'
  | 'submission.delete'
  | 'material-progress.put'
  | 'enrollment.create'
  | 'enrollment.delete'
  | 'assignment.create'
  | 'assignment.update'
  | 'assignment.delete'
  | 'guardian.create'
  | 'guardian.delete'
  | 'tutor.create'
  | 'tutor.delete'

/** A mutation's result and the tags it touched, returned from its transaction. */
export interface Mutation<T> {
  result: T
  tags: string[]
}

export const mutationTags = {
  /** Create, grade or delete a submission: one student's work on one assignment of class C. */
  submission: (s: { tenantId: number; classId: number; assignmentId: number; studentId: number }) => [
    tag.student(s.studentId),
    tag.classWork(s.classId),
    tag.assignment(s.assignmentId),
    tag.schoolWork(s.tenantId),
  ],

  /** Upsert a student's progress on a material of class C. */
  materialProgress: (p: { tenantId: number; classId: number; studentId: number }) => [
    tag.student(p.studentId),
    tag.classProgress(p.classId),
    tag.schoolProgress(p.tenantId),
  ],

  /**
   * Add or remove an enrollment: the student's classes, C's roster (roster:C
   * is also the access tag of C's teacher), the access of the student's
   * viewers (enrolled:S), and the tenant's roster.
   */
  enrollment: (e: { tenantId: number; classId: number; studentId: number }) => [
    tag.student(e.studentId),
    tag.roster(e.classId),
    accessTag.enrolledIn(e.studentId),
    tag.schoolRoster(e.tenantId),
  ],

  /** A new assignment changes the set of assignments, not any existing work (it has no submissions). */
  assignmentCreate: (a: { tenantId: number; classId: number }) => [
    tag.class(a.classId),
    tag.schoolStructure(a.tenantId),
  ],

  /**
   * Delete an assignment (and by cascade its submissions), or update it in a
   * way that alters work figures: max_score rescales its grades, due_at moves
   * the on-time line.
   */
  assignmentChange: (a: { tenantId: number; classId: number; assignmentId: number }) => [
    tag.assignment(a.assignmentId),
    tag.class(a.classId),
    tag.classWork(a.classId),
    tag.schoolStructure(a.tenantId),
    tag.schoolWork(a.tenantId),
  ],

  /**
   * Update an assignment's title alone: only reports that list assignments
   * (they read the structure tags) show it; score %, on-time and counts are
   * unchanged, so the work tags stay put.
   */
  assignmentRetitle: (a: { tenantId: number; classId: number; assignmentId: number }) => [
    tag.assignment(a.assignmentId),
    tag.class(a.classId),
    tag.schoolStructure(a.tenantId),
  ],
}
