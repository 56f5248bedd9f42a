// Which cache tags each school-data mutation touches: the one table to review
// when a report seems stale after a change. Routes advance these tags through
// app.invalidate after the transaction commits and before replying.
// Student reports are expected to read `class:C` for every class the student
// is enrolled in, which is why assignment changes need no per-student tags.
import { accessTag } from '../access/viewer.js'
import { submissionTags, tag } from '../reports/tags.js'

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
  /** Create, grade or delete a submission. */
  submission: (s: { tenantId: number; classId: number; assignmentId: number; studentId: number }) =>
    submissionTags(s),

  /** Upsert a student's progress on a material of class C. */
  materialProgress: (p: { tenantId: number; classId: number; studentId: number }) => [
    tag.student(p.studentId),
    tag.classProgress(p.classId),
    tag.school(p.tenantId),
  ],

  /** Add or remove an enrollment: data tags plus the access tags of viewers whose reach changes. */
  enrollment: (e: { tenantId: number; classId: number; studentId: number }) => [
    tag.student(e.studentId),
    tag.class(e.classId),
    tag.school(e.tenantId),
    accessTag.roster(e.classId),
    accessTag.enrolledIn(e.studentId),
  ],

  /** A new assignment changes the class's structure, not any existing work. */
  assignmentCreate: (a: { tenantId: number; classId: number }) => [
    tag.class(a.classId),
    tag.school(a.tenantId),
  ],

  /** Update or delete an assignment: its fields (max_score rescales grades) and, on delete, its submissions. */
  assignmentChange: (a: { tenantId: number; classId: number; assignmentId: number }) => [
    tag.assignment(a.assignmentId),
    tag.class(a.classId),
    tag.classWork(a.classId),
    tag.school(a.tenantId),
  ],
}
