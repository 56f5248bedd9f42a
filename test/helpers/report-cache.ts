// Fixture for the app-level report cache tests (test/report-cache-*.test.ts):
// the small world plus assignments, submissions, materials and one report of
// every kind; apps on the memory store or on Redis under a private prefix
// (deleted in teardown); report GETs that keep the exact bytes and headers.
import { randomBytes } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { Redis } from 'ioredis'
import type { App } from '../../src/app.js'
import type { Config } from '../../src/config.js'
import { uncachedReader } from '../../src/reports/report-reader.js'
import { bearer, buildTestApp } from './app.js'
import { createTestDatabase, type TestDatabase } from './database.js'
import { type InstrumentedDatabase, instrumentDatabase } from './query-counter.js'
import { createReport } from './reports.js'
import { addAssignment, addSubmission, buildWorld, type World, type WorldUser } from './world.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

export const SHARED_REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'

export type StoreName = 'memory' | 'redis'
export const STORES: readonly StoreName[] = ['memory', 'redis']

export type Caller = Pick<WorldUser, 'id' | 'tenant_id' | 'role'>

/** A fresh key prefix on the shared Redis, whose keys are deleted in teardown (SCAN, never KEYS). */
export function privatePrefix(t: Teardown, redisUrl = SHARED_REDIS_URL): string {
  const prefix = `test:rc-${randomBytes(5).toString('hex')}:`
  t.teardown(async () => {
    const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
    client.on('error', () => {})
    try {
      await client.connect()
      let cursor = '0'
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
        cursor = next
        if (keys.length > 0) await client.del(...keys)
      } while (cursor !== '0')
    } catch {
      // A private redis-server may be gone already: nothing to clean.
    } finally {
      client.disconnect()
    }
  })
  return prefix
}

/** Config overrides selecting a store; Redis gets a private prefix (shared by apps given the same one). */
export function storeOverrides(t: Teardown, store: StoreName, prefix?: string): Partial<Config> {
  if (store === 'memory') return {}
  return { redisUrl: SHARED_REDIS_URL, redisPrefix: prefix ?? privatePrefix(t) }
}

export interface Reports {
  progressS1: number
  progressS2: number
  distC1: number
  distC2: number
  distA1: number
  analyticsAll: number
  analyticsC2: number
  customC1: number
  customCompletionC1: number
  customTenant: number
}

export interface CacheWorld {
  db: TestDatabase
  w: World
  /** Assignments a1, a2 (class c1) and b1 (class c2), max_score 10, 20, 10. */
  a1: number
  a2: number
  b1: number
  /** Submissions: s1 and s2 on a1, s2 and s3 on b1 (all graded). */
  subS1A1: number
  subS2A1: number
  subS2B1: number
  subS3B1: number
  /** Materials in c1 and c2. */
  m1: number
  m2: number
}

/** The world plus school work (no app yet), on a fresh test database or the one given. */
export async function cacheWorld(t: Teardown, database?: TestDatabase): Promise<CacheWorld> {
  const db = database ?? (await createTestDatabase(t))
  const w = await buildWorld(db.db)
  const T = w.tenant1
  const a1 = await addAssignment(db.db, T, w.c1, 10, '2024-03-10T00:00:00Z', 'Fractions')
  const a2 = await addAssignment(db.db, T, w.c1, 20, '2024-03-20T00:00:00Z', 'Equations')
  const b1 = await addAssignment(db.db, T, w.c2, 10, '2024-03-15T00:00:00Z', 'Cells')
  const subS1A1 = await addSubmission(db.db, T, a1, w.s1.id, '2024-03-08T10:00:00Z', 8)
  const subS2A1 = await addSubmission(db.db, T, a1, w.s2.id, '2024-03-11T10:00:00Z', 5)
  const subS2B1 = await addSubmission(db.db, T, b1, w.s2.id, '2024-03-14T10:00:00Z', 9)
  const subS3B1 = await addSubmission(db.db, T, b1, w.s3.id, '2024-03-16T10:00:00Z', 4)
  const [m1, m2] = await db.db
    .insertInto('materials')
    .values([
      { tenant_id: T, class_id: w.c1, title: 'Fractions notes' },
      { tenant_id: T, class_id: w.c2, title: 'Cells notes' },
    ])
    .returning('id')
    .execute()
  return { db, w, a1, a2, b1, subS1A1, subS2A1, subS2B1, subS3B1, m1: m1.id, m2: m2.id }
}

export interface CacheApp {
  app: App
  instrumented: InstrumentedDatabase<TestDatabase>
}

/** An app on the world's database, instrumented (query counter, gate). */
export async function cacheApp(
  t: Teardown,
  cw: CacheWorld,
  overrides: Partial<Config> = {},
): Promise<CacheApp> {
  const instrumented = instrumentDatabase(cw.db)
  const app = await buildTestApp(t, instrumented.handle, overrides)
  return { app, instrumented }
}

/** One report of every kind, created by the admin through the API. */
export async function createReports(app: App, cw: CacheWorld): Promise<Reports> {
  const { w } = cw
  const admin = w.admin
  return {
    progressS1: await createReport(app, admin, 'student_progress', { student_id: w.s1.id }),
    progressS2: await createReport(app, admin, 'student_progress', { student_id: w.s2.id }),
    distC1: await createReport(app, admin, 'grade_distribution', { class_id: w.c1 }),
    distC2: await createReport(app, admin, 'grade_distribution', { class_id: w.c2 }),
    distA1: await createReport(app, admin, 'grade_distribution', { assignment_id: cw.a1 }),
    analyticsAll: await createReport(app, admin, 'analytics', {}),
    analyticsC2: await createReport(app, admin, 'analytics', { class_ids: [w.c2] }),
    customC1: await createReport(app, admin, 'custom', {
      metric: 'avg_score',
      group_by: 'student',
      where: { class_id: w.c1 },
    }),
    customCompletionC1: await createReport(app, admin, 'custom', {
      metric: 'completion',
      group_by: 'student',
      where: { class_id: w.c1 },
    }),
    customTenant: await createReport(app, admin, 'custom', { metric: 'avg_score', group_by: 'class' }),
  }
}

export interface ReportResponse {
  status: number
  xCache: string | undefined
  etag: string | undefined
  /** The exact body bytes. */
  raw: Buffer
  res: LightMyRequestResponse
  /** The parsed `data` of a 200 (undefined otherwise). */
  data: unknown
}

export async function getReport(
  app: App,
  caller: Caller,
  id: number,
  options: { query?: string; headers?: Record<string, string>; method?: 'GET' | 'HEAD' } = {},
): Promise<ReportResponse> {
  const res = await app.inject({
    method: options.method ?? 'GET',
    url: `/reports/${id}${options.query ? `?${options.query}` : ''}`,
    headers: { ...bearer(caller), ...options.headers },
  })
  const xCache = res.headers['x-cache']
  const etag = res.headers.etag
  return {
    status: res.statusCode,
    xCache: typeof xCache === 'string' ? xCache : undefined,
    etag: typeof etag === 'string' ? etag : undefined,
    raw: res.rawPayload,
    res,
    data: res.statusCode === 200 && res.rawPayload.length > 0 ? res.json().data : undefined,
  }
}

/** The report's data computed now from the database, bypassing every cache. */
export async function freshData(db: TestDatabase, caller: Caller, id: number, query = {}): Promise<unknown> {
  // The API's own pipeline over an empty cache: computed now, with the same access checks.
  const principal = { id: caller.id, tenantId: caller.tenant_id, role: caller.role }
  const outcome = await uncachedReader(db.db).read({ principal, reportId: id, query })
  return JSON.parse(String(outcome.body)).data
}

/** Polls `check` until it returns a value (not undefined/false), failing at the deadline. */
export async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  deadlineMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + deadlineMs
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

/** Sends a mutation as `caller`; throws unless it answered 2xx. */
export async function mutateOk(
  app: App,
  caller: Caller,
  method: 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  url: string,
  payload?: Record<string, unknown>,
): Promise<LightMyRequestResponse> {
  const res = await app.inject({ method, url, headers: bearer(caller), payload })
  if (res.statusCode < 200 || res.statusCode >= 300) {
    throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
  }
  return res
}
