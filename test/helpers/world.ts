// A small hand-built school, the same in every test that uses it:
// tenant 1: admin, teachers A (class c1) and B (class c2), a tutor and a
// parent of s1, students s1 (c1), s2 (c1, c2), s3 (c2);
// tenant 2: its admin, a teacher of class x1 and student x1 in it.
import type { Kysely } from 'kysely'
import type { Database, Role } from '../../db/database.js'

export interface WorldUser {
  id: number
  tenant_id: number
  role: Role
  email: string
  name: string
}

export interface World {
  tenant1: number
  tenant2: number
  admin: WorldUser
  teacherA: WorldUser
  teacherB: WorldUser
  tutor: WorldUser
  parent: WorldUser
  s1: WorldUser
  s2: WorldUser
  s3: WorldUser
  admin2: WorldUser
  teacher2: WorldUser
  x1: WorldUser
  c1: number
  c2: number
  cx: number
}

export async function buildWorld(db: Kysely<Database>): Promise<World> {
  const [t1, t2] = await db
    .insertInto('tenants')
    .values([{ name: 'Demo School' }, { name: 'Other School' }])
    .returning('id')
    .execute()
  const user = async (tenant_id: number, role: Role, key: string): Promise<WorldUser> => {
    const email = `${key}@${tenant_id === t1.id ? 'demo' : 'other'}.test`
    const row = await db
      .insertInto('users')
      .values({ tenant_id, role, email, name: key })
      .returning(['id', 'tenant_id', 'role', 'email', 'name'])
      .executeTakeFirstOrThrow()
    return row
  }
  const admin = await user(t1.id, 'admin', 'admin')
  const teacherA = await user(t1.id, 'teacher', 'teacher-a')
  const teacherB = await user(t1.id, 'teacher', 'teacher-b')
  const tutor = await user(t1.id, 'tutor', 'tutor')
  const parent = await user(t1.id, 'parent', 'parent')
  const s1 = await user(t1.id, 'student', 's1')
  const s2 = await user(t1.id, 'student', 's2')
  const s3 = await user(t1.id, 'student', 's3')
  const admin2 = await user(t2.id, 'admin', 'admin2')
  const teacher2 = await user(t2.id, 'teacher', 'teacher2')
  const x1 = await user(t2.id, 'student', 'x1')

  const klass = async (tenant_id: number, name: string, teacher_id: number) =>
    (
      await db
        .insertInto('classes')
        .values({ tenant_id, name, teacher_id })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id
  const c1 = await klass(t1.id, 'Algebra', teacherA.id)
  const c2 = await klass(t1.id, 'Biology', teacherB.id)
  const cx = await klass(t2.id, 'Chemistry', teacher2.id)

  await db
    .insertInto('enrollments')
    .values([
      { tenant_id: t1.id, class_id: c1, student_id: s1.id },
      { tenant_id: t1.id, class_id: c1, student_id: s2.id },
      { tenant_id: t1.id, class_id: c2, student_id: s2.id },
      { tenant_id: t1.id, class_id: c2, student_id: s3.id },
      { tenant_id: t2.id, class_id: cx, student_id: x1.id },
    ])
    .execute()
  await db
    .insertInto('tutor_links')
    .values({ tenant_id: t1.id, tutor_id: tutor.id, student_id: s1.id })
    .execute()
  await db
    .insertInto('guardians')
    .values({ tenant_id: t1.id, parent_id: parent.id, student_id: s1.id })
    .execute()

  return {
    tenant1: t1.id,
    tenant2: t2.id,
    admin,
    teacherA,
    teacherB,
    tutor,
    parent,
    s1,
    s2,
    s3,
    admin2,
    teacher2,
    x1,
    c1,
    c2,
    cx,
  }
}

export async function addAssignment(
  db: Kysely<Database>,
  tenant_id: number,
  class_id: number,
  max_score: number,
  due_at: string,
  title = 'Assignment',
): Promise<number> {
  const row = await db
    .insertInto('assignments')
    .values({ tenant_id, class_id, title, max_score, due_at })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

export async function addSubmission(
  db: Kysely<Database>,
  tenant_id: number,
  assignment_id: number,
  student_id: number,
  submitted_at: string,
  score: number | null,
): Promise<number> {
  const row = await db
    .insertInto('submissions')
    .values({
      tenant_id,
      assignment_id,
      student_id,
      submitted_at,
      score,
      graded_at: score === null ? null : submitted_at,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}
