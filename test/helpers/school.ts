// Helpers for the school-data route tests: a world with an app, a material
// per class, and a recorder of app.invalidate calls.
import type { LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import type { Role } from '../../db/database.js'
import type { App } from '../../src/app.js'
import { onInvalidation } from '../../src/invalidation-events.js'
import { bearer, buildTestApp } from './app.js'
import { createTestDatabase, type TestDatabase } from './database.js'
import { buildWorld, type World } from './world.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

type Caller = { id: number; tenant_id: number; role: Role }

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
 * Records the tags the database triggers wrote for every change made through
 * app.invalidation.transact (sorted), and its reason, once they are delivered.
 */
export function recordInvalidations(app: App): InvalidationCall[] {
  const calls: InvalidationCall[] = []
  // Filtered by app, so it needs no unsubscribing (hooks cannot be added after ready()).
  onInvalidation(app.invalidation, (e) => calls.push({ tags: [...e.tags], reason: e.reason }))
  return calls
}

/** A request as `user`, with an optional JSON body. */
export function sender(app: App) {
  return (user: Caller, method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      headers: bearer(user),
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    })
}

/**
 * Asserts that a request fails with `status` (and `message`), and that it
 * changed nothing (`snapshot` of the tables it could touch) and invalidated nothing.
 */
export function rejecter(calls: InvalidationCall[], snapshot: () => Promise<unknown>) {
  return async (
    t: Test,
    what: string,
    run: () => Promise<LightMyRequestResponse>,
    status: number,
    message?: string | RegExp,
  ): Promise<void> => {
    const before = await snapshot()
    const calledBefore = calls.length
    const res = await run()
    t.equal(res.statusCode, status, `${what} → ${status}`)
    if (message !== undefined) t.match(res.json().message, message, `${what}: message`)
    t.same(await snapshot(), before, `${what}: nothing changed`)
    t.equal(calls.length, calledBefore, `${what}: nothing invalidated`)
  }
}
