// The vocabulary of data tags: what a report computation read, and what a
// mutation touched. A mutation advances the tags it touched; an entry is
// valid only while none of its tags moved. Narrow tags keep unrelated
// reports cached (grading s1 in class 3 leaves s2's progress alone).
export const tag = {
  /** A student's submissions, grades, material progress and enrollments. */
  student: (studentId: number) => `student:${studentId}`,
  /** A class's structure: its assignments (and their fields), materials, roster. */
  class: (classId: number) => `class:${classId}`,
  /** Submissions and grades of any student on the class's assignments. */
  classWork: (classId: number) => `class-work:${classId}`,
  /** Material progress of any student on the class's materials. */
  classProgress: (classId: number) => `class-progress:${classId}`,
  /** One assignment's fields and its submissions. */
  assignment: (assignmentId: number) => `assignment:${assignmentId}`,
  /** Any school data of the tenant: read by tenant-wide aggregates. */
  school: (tenantId: number) => `school:${tenantId}`,
  /** Every cache entry of the tenant (DELETE /cache). Added by the report cache. */
  tenant: (tenantId: number) => `tenant:${tenantId}`,
  /** One report definition and all its cached results. Added by the report cache. */
  report: (reportId: number) => `report:${reportId}`,
}

/** The tags a change to a submission (create, grade, delete) touches. */
export function submissionTags(s: {
  tenantId: number
  classId: number
  assignmentId: number
  studentId: number
}) {
  return [
    tag.student(s.studentId),
    tag.classWork(s.classId),
    tag.assignment(s.assignmentId),
    tag.school(s.tenantId),
  ]
}
