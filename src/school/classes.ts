// Classes: the list a viewer may read and one class with its roster,
// assignments and materials.
import { sql } from 'kysely'
import type { Db } from '../../db/database.js'
import type { Viewer } from '../access/viewer.js'
import { toIso } from './common.js'

export interface ClassRow {
  id: number
  tenant_id: number
  name: string
  teacher_id: number | null
}

export interface ClassSummary {
  id: number
  name: string
  teacher_id: number | null
  student_count: number
}

export interface ClassDetail {
  id: number
  name: string
  teacher_id: number | null
  students: { id: number; name: string }[]
  assignments: { id: number; title: string; max_score: number; due_at: string }[]
  materials: { id: number; title: string }[]
}

export async function findClass(db: Db, tenantId: number, id: number): Promise<ClassRow | undefined> {
  return db
    .selectFrom('classes')
    .select(['id', 'tenant_id', 'name', 'teacher_id'])
    .where('id', '=', id)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst()
}

/** Every class of the tenant for an admin, else the viewer's readable classes; by id. */
export async function listReadableClasses(db: Db, viewer: Viewer): Promise<ClassSummary[]> {
  if (!viewer.all && viewer.readableClassIds.size === 0) return []
  let q = db
    .selectFrom('classes as c')
    .select([
      'c.id',
      'c.name',
      'c.teacher_id',
      (eb) =>
        eb
          .selectFrom('enrollments as e')
          .select(sql<number>`count(*)::int`.as('n'))
          .whereRef('e.class_id', '=', 'c.id')
          .as('student_count'),
    ])
    .where('c.tenant_id', '=', viewer.tenantId)
    .orderBy('c.id')
  if (!viewer.all) q = q.where('c.id', 'in', [...viewer.readableClassIds])
  const rows = await q.execute()
  return rows.map((r) => ({ ...r, student_count: Number(r.student_count ?? 0) }))
}

export async function classDetail(db: Db, klass: ClassRow): Promise<ClassDetail> {
  const [students, assignments, materials] = await Promise.all([
    db
      .selectFrom('enrollments as e')
      .innerJoin('users as u', 'u.id', 'e.student_id')
      .select(['u.id', 'u.name'])
      .where('e.class_id', '=', klass.id)
      .orderBy('u.id')
      .execute(),
    db
      .selectFrom('assignments')
      .select(['id', 'title', sql<number>`max_score::float8`.as('max_score'), 'due_at'])
      .where('class_id', '=', klass.id)
      .orderBy('due_at')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('materials')
      .select(['id', 'title'])
      .where('class_id', '=', klass.id)
      .orderBy('id')
      .execute(),
  ])
  return {
    id: klass.id,
    name: klass.name,
    teacher_id: klass.teacher_id,
    students,
    assignments: assignments.map((a) => ({ ...a, due_at: toIso(a.due_at) })),
    materials,
  }
}
