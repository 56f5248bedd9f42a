// The Kysely Database interface: one entry per table, column types as the
// driver returns them. Numerics are declared as `string | number` because pg
// returns numeric as text while PGlite may not; queries cast where it matters.
import type { ColumnType, Generated, Insertable, Kysely, Selectable, Transaction } from 'kysely'

export type Role = 'admin' | 'teacher' | 'tutor' | 'student' | 'parent'
export const ROLES: readonly Role[] = ['admin', 'teacher', 'tutor', 'student', 'parent']

type Timestamp = ColumnType<Date, Date | string, Date | string>
type CreatedAt = ColumnType<Date, Date | string | undefined, never>
type Numeric = ColumnType<string, number | string, number | string>

export interface TenantTable {
  id: Generated<number>
  name: string
}

export interface UserTable {
  id: Generated<number>
  tenant_id: number
  email: string
  name: string
  role: Role
}

export interface ClassTable {
  id: Generated<number>
  tenant_id: number
  name: string
  teacher_id: number | null
}

export interface EnrollmentTable {
  tenant_id: number
  class_id: number
  student_id: number
  created_at: CreatedAt
}

export interface GuardianTable {
  tenant_id: number
  parent_id: number
  student_id: number
}

export interface TutorLinkTable {
  tenant_id: number
  tutor_id: number
  student_id: number
}

export interface AssignmentTable {
  id: Generated<number>
  tenant_id: number
  class_id: number
  title: string
  max_score: Numeric
  due_at: Timestamp
  created_at: CreatedAt
}

export interface SubmissionTable {
  id: Generated<number>
  tenant_id: number
  assignment_id: number
  student_id: number
  submitted_at: Timestamp
  score: ColumnType<string | null, number | string | null, number | string | null>
  graded_at: ColumnType<Date | null, Date | string | null, Date | string | null>
}

export interface MaterialTable {
  id: Generated<number>
  tenant_id: number
  class_id: number
  title: string
}

export interface MaterialProgressTable {
  tenant_id: number
  material_id: number
  student_id: number
  percent: Numeric
  updated_at: Timestamp
}

export type ReportType = 'student_progress' | 'grade_distribution' | 'analytics' | 'custom'

export interface ReportTable {
  id: Generated<number>
  tenant_id: number
  type: ReportType
  title: string
  params: ColumnType<Record<string, unknown>, string, string>
  created_by: number
  /** Bumped on every PATCH: feeds the definition's ETag (RFC 9110 §8.8.3). */
  revision: Generated<number>
  created_at: CreatedAt
  updated_at: Timestamp
}

/** Counters of a work summary (migration 2026-12-01-002-aggregates). */
interface WorkCounters {
  n: number
  graded: number
  on_time: number
  /** Exact sum of score / max_score * 100 over the graded submissions. */
  sum_pct: Numeric
}

export interface AggWorkDayTable extends WorkCounters {
  tenant_id: number
  assignment_id: number
  /** UTC day of submitted_at. */
  day: ColumnType<string, string, string>
  class_id: number
}

export interface AggWorkTenantDayTable extends WorkCounters {
  tenant_id: number
  day: ColumnType<string, string, string>
  shard: number
}

/** One row per class (migration 2026-12-03-005). */
export interface AggWorkClassTable extends WorkCounters {
  tenant_id: number
  class_id: number
}

export interface AggWorkClassMonthTable extends WorkCounters {
  tenant_id: number
  class_id: number
  /** First day of the UTC month. */
  month: ColumnType<string, string, string>
}

export interface AggWorkStudentMonthTable extends WorkCounters {
  tenant_id: number
  student_id: number
  /** First day of the UTC month. */
  month: ColumnType<string, string, string>
}

export interface AggProgressEnrollmentTable {
  class_id: number
  student_id: number
  /** The student's percent summed over the class's materials (missing progress: 0). */
  sum_percent: Numeric
}

export interface AggProgressClassTable {
  class_id: number
  shard: number
  enrolled: number
  /** Sum of the percent of the progress rows of enrolled students on the class's materials. */
  sum_percent: Numeric
}

export interface Database {
  tenants: TenantTable
  users: UserTable
  classes: ClassTable
  enrollments: EnrollmentTable
  guardians: GuardianTable
  tutor_links: TutorLinkTable
  assignments: AssignmentTable
  submissions: SubmissionTable
  materials: MaterialTable
  material_progress: MaterialProgressTable
  reports: ReportTable
  agg_work_day: AggWorkDayTable
  agg_work_tenant_day: AggWorkTenantDayTable
  agg_work_class: AggWorkClassTable
  agg_work_class_month: AggWorkClassMonthTable
  agg_work_student_month: AggWorkStudentMonthTable
  agg_progress_enrollment: AggProgressEnrollmentTable
  agg_progress_class: AggProgressClassTable
}

/** A Kysely handle or an open transaction: queries take either as first argument. */
export type Db = Kysely<Database> | Transaction<Database>

export type UserRow = Selectable<UserTable>
export type ReportRow = Selectable<ReportTable>
export type NewSubmission = Insertable<SubmissionTable>
