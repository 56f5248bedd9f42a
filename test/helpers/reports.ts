// Fixture and request helpers for the report tests: extra tenants, classes,
// students and materials by direct inserts, and report calls through HTTP.
import type { Kysely } from 'kysely'
import type { Database, Role } from '../../db/database.js'
import type { App } from '../../src/app.js'
import { bearer } from './app.js'
import type { WorldUser } from './world.js'

export async function addTenant(db: Kysely<Database>, name: string): Promise<number> {
  return (await db.insertInto('tenants').values({ name }).returning('id').executeTakeFirstOrThrow()).id
}

export async function addUser(
  db: Kysely<Database>,
  tenant_id: number,
  role: Role,
  key: string,
): Promise<WorldUser> {
  return db
    .insertInto('users')
    .values({ tenant_id, role, email: `${key}@t${tenant_id}.test`, name: key })
    .returning(['id', 'tenant_id', 'role', 'email', 'name'])
    .executeTakeFirstOrThrow()
}

export async function addClass(
  db: Kysely<Database>,
  tenant_id: number,
  name: string,
  teacher_id: number | null = null,
): Promise<number> {
  return (
    await db
      .insertInto('classes')
      .values({ tenant_id, name, teacher_id })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id
}

export async function enroll(db: Kysely<Database>, tenant_id: number, class_id: number, student_id: number) {
  await db.insertInto('enrollments').values({ tenant_id, class_id, student_id }).execute()
}

export async function addMaterial(
  db: Kysely<Database>,
  tenant_id: number,
  class_id: number,
  title = 'Material',
) {
  return (
    await db
      .insertInto('materials')
      .values({ tenant_id, class_id, title })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id
}

export async function setProgress(
  db: Kysely<Database>,
  tenant_id: number,
  material_id: number,
  student_id: number,
  percent: number,
) {
  await db
    .insertInto('material_progress')
    .values({ tenant_id, material_id, student_id, percent, updated_at: '2024-03-01T00:00:00Z' })
    .execute()
}

type Caller = Pick<WorldUser, 'id' | 'tenant_id' | 'role'>

/** POST /reports as the caller; returns the new id (fails the test helper loudly otherwise). */
export async function createReport(
  app: App,
  caller: Caller,
  type: string,
  params: Record<string, unknown>,
  title = `${type} report`,
): Promise<number> {
  const res = await app.inject({
    method: 'POST',
    url: '/reports',
    headers: bearer(caller),
    payload: { type, title, params },
  })
  if (res.statusCode !== 201) throw new Error(`create ${type} failed: ${res.statusCode} ${res.body}`)
  return res.json().id
}

export interface ReportBody<D = Record<string, unknown>> {
  id: number
  type: string
  title: string
  params: Record<string, unknown>
  filters: Record<string, unknown>
  generated_at: string
  data: D
}

/** GET /reports/:id as the caller with a raw query string. */
export function getReport(app: App, caller: Caller, id: number, query = '') {
  return app.inject({
    method: 'GET',
    url: `/reports/${id}${query ? `?${query}` : ''}`,
    headers: bearer(caller),
  })
}

/** The data of a report, asserting a 200. */
export async function reportData<D>(app: App, caller: Caller, id: number, query = ''): Promise<D> {
  const res = await getReport(app, caller, id, query)
  if (res.statusCode !== 200) throw new Error(`GET report ${id}?${query}: ${res.statusCode} ${res.body}`)
  return (res.json() as ReportBody<D>).data
}
