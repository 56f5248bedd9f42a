// The report definitions the demo starts with, created by each tenant's admin.
import type { Db } from '../database.js'
import { iso } from './bulk.js'
import type { PlannedSchool } from './plan.js'
import { YEAR_START_MS } from './sizes.js'
import type { PlannedAssignment } from './work.js'

/** One definition of each type in tenant 1 (report 1: the whole-school analytics), one in tenant 2. */
export async function insertReports(
  db: Db,
  schools: PlannedSchool[],
  firstAssignment: PlannedAssignment,
): Promise<number> {
  const [demo, other] = schools
  const firstClass = demo.classes[0]
  const teacherClasses = demo.classes.filter((c) => c.teacher_id === demo.named.teacher).map((c) => c.id)
  const student = demo.users.find((u) => u.id === demo.named.student)!
  const teacher = demo.users.find((u) => u.id === demo.named.teacher)!
  const at = iso(YEAR_START_MS)
  const definitions = [
    {
      tenant_id: 1,
      created_by: demo.adminId,
      type: 'analytics',
      title: 'Whole school: weekly trends',
      params: {},
    },
    {
      tenant_id: 1,
      created_by: demo.adminId,
      type: 'student_progress',
      title: `Progress of ${student.name}`,
      params: { student_id: student.id },
    },
    {
      tenant_id: 1,
      created_by: demo.adminId,
      type: 'grade_distribution',
      title: `Grades in ${firstClass.name}`,
      params: { class_id: firstClass.id },
    },
    {
      tenant_id: 1,
      created_by: demo.adminId,
      type: 'grade_distribution',
      title: `Grades of ${firstClass.name}: ${firstAssignment.title}`,
      params: { assignment_id: firstAssignment.id },
    },
    {
      tenant_id: 1,
      created_by: demo.adminId,
      type: 'custom',
      title: 'Average score by class',
      params: { metric: 'avg_score', group_by: 'class' },
    },
    {
      tenant_id: 1,
      created_by: demo.adminId,
      type: 'analytics',
      title: `Classes taught by ${teacher.name}`,
      params: { class_ids: teacherClasses },
    },
    {
      tenant_id: 1,
      created_by: demo.adminId,
      type: 'custom',
      title: 'On-time rate by month',
      params: { metric: 'on_time_rate', group_by: 'month' },
    },
    {
      tenant_id: 2,
      created_by: other.adminId,
      type: 'analytics',
      title: 'Other School: weekly trends',
      params: {},
    },
  ] as const
  await db
    .insertInto('reports')
    .values(
      definitions.map((d, i) => ({
        id: i + 1,
        ...d,
        params: JSON.stringify(d.params),
        created_at: at,
        updated_at: at,
      })),
    )
    .execute()
  return definitions.length
}
