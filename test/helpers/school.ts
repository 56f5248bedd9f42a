// Helpers for the school-data route tests: a world with an app, a material
// per class, and a recorder of app.invalidate calls.
import type { App } from '../../src/app.js'
import { buildTestApp } from './app.js'
import { createTestDatabase, type TestDatabase } from './database.js'
import { buildWorld, type World } from './world.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface SchoolFixture {
  app: App
  db: TestDatabase
  w: World
  /** One material in c1, c2 and cx. */
  m1: number
  m2: number
  mx: number
}

export async function schoolFixture(t: Teardown): Promise<SchoolFixture> {
  const db = await createTestDatabase(t)
  const w = await buildWorld(db.db)
  const [m1, m2, mx] = await db.db
    .insertInto('materials')
    .values([
      { tenant_id: w.tenant1, class_id: w.c1, title: 'Fractions' },
      { tenant_id: w.tenant1, class_id: w.c2, title: 'Cells' },
      { tenant_id: w.tenant2, class_id: w.cx, title: 'Atoms' },
    ])
    .returning('id')
    .execute()
  const app = await buildTestApp(t, db)
  return { app, db, w, m1: m1.id, m2: m2.id, mx: mx.id }
}

export interface InvalidationCall {
  tags: string[]
  reason: string
}

/**
 * Records every app.invalidate call (and still performs it). Route plugins
 * see the root's decorator through their prototype chain, so replacing the
 * property on the root after ready() is seen by every route.
 */
export function recordInvalidations(app: App): InvalidationCall[] {
  const calls: InvalidationCall[] = []
  const original = app.invalidate
  app.invalidate = async (tenantId, tags, reason) => {
    calls.push({ tags: [...tags], reason })
    await original(tenantId, tags, reason)
  }
  return calls
}
