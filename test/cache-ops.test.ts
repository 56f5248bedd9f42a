// /cache/* (API.md "Cache operations"): admin-only and tenant-scoped; the
// hit-rate arithmetic on a known request sequence (MISS, HIT, 304 by ETag and
// by date, STALE, BYPASS, coalesced) on the memory store and on Redis, two app
// instances sharing Redis whose counts sum; stats; warm; invalidation.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { App } from '../src/app.js'
import { answerOf, HitRateRecorder } from '../src/cache/hit-rate.js'
import type { Config } from '../src/config.js'
import { deleteByPrefix, until } from './cache/store-contract.js'
import { bearer, buildTestApp } from './helpers/app.js'
import { createTestDatabase, type TestDatabase } from './helpers/database.js'
import { holdComputations } from './helpers/hold-computations.js'
import { createReport, getReport } from './helpers/reports.js'
import { addAssignment, addSubmission, buildWorld, type World, type WorldUser } from './helpers/world.js'

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const PREFIX = `test-cops-${randomBytes(4).toString('hex')}-`
const admin = new Redis(REDIS_URL)
t.teardown(async () => {
  await deleteByPrefix(admin, PREFIX)
  admin.disconnect()
})

// custom: stored but never fresh (MISS, then STALE); grade_distribution: never stored (BYPASS).
const POLICY_OVERRIDES: Partial<Config> = {
  cachePolicy: {
    custom: { ttl: 0 },
    grade_distribution: { ttl: 0, staleWhileRevalidate: 0, staleIfError: 0 },
  },
}

let prefixes = 0
function redisConfig(prefix = `${PREFIX}${++prefixes}:`): Partial<Config> {
  return { redisUrl: REDIS_URL, redisPrefix: prefix }
}

interface Fixture {
  db: TestDatabase
  w: World
  reports: { analytics: number; analytics2: number; custom: number; grades: number; other: number }
}

async function fixture(t: Test): Promise<Fixture> {
  const db = await createTestDatabase(t)
  const w = await buildWorld(db.db)
  const a1 = await addAssignment(db.db, w.tenant1, w.c1, 10, '2024-03-10T00:00:00Z', 'a1')
  await addSubmission(db.db, w.tenant1, a1, w.s1.id, '2024-03-09T00:00:00Z', 8)
  await addSubmission(db.db, w.tenant1, a1, w.s2.id, '2024-03-11T00:00:00Z', 5)
  // Reports are created through an app; any app on this database will do.
  const app = await buildTestApp(t, db)
  const reports = {
    analytics: await createReport(app, w.admin, 'analytics', {}),
    analytics2: await createReport(app, w.admin, 'analytics', { class_ids: [w.c1] }),
    custom: await createReport(app, w.admin, 'custom', { metric: 'avg_score', group_by: 'class' }),
    grades: await createReport(app, w.admin, 'grade_distribution', { class_id: w.c1 }),
    other: await createReport(app, w.admin2, 'analytics', {}),
  }
  return { db, w, reports }
}

async function hitRate(app: App, user: WorldUser, query = '') {
  const res = await app.inject({ method: 'GET', url: `/cache/hit-rate${query}`, headers: bearer(user) })
  if (res.statusCode !== 200) throw new Error(`hit-rate: ${res.statusCode} ${res.body}`)
  return res.json()
}

function xCache(res: { headers: Record<string, unknown> }): unknown {
  return res.headers['x-cache']
}

/** The known sequence; returns nothing, asserts each X-Cache on the way. */
async function knownSequence(t: Test, app: App, f: Fixture): Promise<void> {
  const { admin: a } = f.w
  const A = f.reports.analytics
  const miss = await getReport(app, a, A)
  t.equal(xCache(miss), 'MISS', 'analytics: first GET computes')
  t.equal(xCache(await getReport(app, a, A)), 'HIT', 'analytics: second GET is a hit')
  const byEtag = await app.inject({
    method: 'GET',
    url: `/reports/${A}`,
    headers: { ...bearer(a), 'if-none-match': miss.headers.etag as string },
  })
  t.equal(byEtag.statusCode, 304, 'If-None-Match: 304')
  const byDate = await app.inject({
    method: 'GET',
    url: `/reports/${A}`,
    headers: { ...bearer(a), 'if-modified-since': miss.headers['last-modified'] as string },
  })
  t.equal(byDate.statusCode, 304, 'If-Modified-Since alone: 304 from a hit')

  t.equal(xCache(await getReport(app, a, f.reports.custom)), 'MISS', 'custom: computed')
  t.equal(xCache(await getReport(app, a, f.reports.custom)), 'STALE', 'custom: never fresh, served stale')
  await app.reportCache.idle()
  t.equal(xCache(await getReport(app, a, f.reports.custom)), 'STALE', 'custom: stale again')
  await app.reportCache.idle()
  t.equal(xCache(await getReport(app, a, f.reports.grades)), 'BYPASS', 'grade distribution: never stored')

  // Two GETs of a new key at once: the second waits on the first's computation.
  const held = holdComputations(app)
  const first = getReport(app, a, A, 'granularity=month')
  await until(() => held.computing === 1, 'the first computation to start')
  const readsBefore = held.reads
  const second = getReport(app, a, A, 'granularity=month')
  // Its store read has come back: it joins the running computation in the same tick.
  await until(() => held.reads > readsBefore, 'the second request to reach the cache')
  held.release()
  const [r1, r2] = await Promise.all([first, second])
  t.equal(xCache(r1), 'MISS')
  t.equal(xCache(r2), 'MISS', 'a coalesced waiter says MISS')
  t.equal(held.computing, 1, 'one computation for both')
  t.equal(r1.body, r2.body, 'same bytes')
}

// MISS ×3 (analytics, custom, analytics by month), HIT ×1, coalesced ×1,
// 304 ×2, STALE ×2, BYPASS ×1: answered without computing 1+1+2+2 = 6 of 10.
const EXPECTED = {
  hits: 2,
  misses: 3,
  stale: 2,
  bypass: 1,
  not_modified: 2,
  coalesced: 1,
  total_requests: 10,
  hit_rate: 60,
  by_type: {
    analytics: { hits: 4, misses: 2, hit_rate: 66.67 },
    custom: { hits: 2, misses: 1, hit_rate: 66.67 },
    grade_distribution: { hits: 0, misses: 1, hit_rate: 0 },
  },
}

for (const backend of ['memory', 'redis'] as const) {
  t.test(`hit-rate arithmetic on the ${backend} store`, async (t) => {
    const f = await fixture(t)
    const app = await buildTestApp(t, f.db, {
      ...POLICY_OVERRIDES,
      ...(backend === 'redis' ? redisConfig() : {}),
    })
    const empty = await hitRate(app, f.w.admin)
    t.match(empty, { total_requests: 0, hit_rate: 0, by_type: {}, last_updated: null })

    const before = Date.now()
    await knownSequence(t, app, f)
    const summary = await hitRate(app, f.w.admin)
    t.match(summary, EXPECTED)
    t.same(summary.by_type, EXPECTED.by_type, 'only the types requested')
    t.equal(summary.window_seconds, 3600, 'default window 1h')
    t.equal(summary.source, backend === 'redis' ? 'shared' : 'instance')
    const last = Date.parse(summary.last_updated)
    t.ok(last >= before - 1000 && last <= Date.now(), 'last_updated: the newest request counted')

    // The other tenant's admin sees only its own tenant.
    t.match(await hitRate(app, f.w.admin2), { total_requests: 0 })
    t.equal(xCache(await getReport(app, f.w.admin2, f.reports.other)), 'MISS')
    t.match(await hitRate(app, f.w.admin2), { total_requests: 1, misses: 1, hit_rate: 0 })
    t.match(await hitRate(app, f.w.admin), { total_requests: 10 }, 'tenant 1 unchanged')

    // Windows: the same requests, read from buckets of another width.
    for (const [window, seconds, bucket] of [
      ['1m', 60, 10],
      ['5m', 300, 10],
      ['24h', 86_400, 60],
    ] as const) {
      const w = await hitRate(app, f.w.admin, `?window=${window}&series=true`)
      t.match(
        w,
        { window_seconds: seconds, bucket_seconds: bucket, total_requests: 10, hit_rate: 60 },
        window,
      )
      t.equal(w.series.length, seconds / bucket, `${window}: one point per bucket`)
      const points = w.series.filter((p: { total_requests: number }) => p.total_requests > 0)
      t.ok(points.length >= 1, `${window}: the requests are in the series`)
      t.equal(
        points.reduce((n: number, p: { total_requests: number }) => n + p.total_requests, 0),
        10,
        `${window}: the series sums to the total`,
      )
    }
  })
}

t.test('two instances on one Redis prefix: counts sum', async (t) => {
  const f = await fixture(t)
  const shared = redisConfig()
  const one = await buildTestApp(t, f.db, shared)
  const two = await buildTestApp(t, f.db, shared)
  const A = f.reports.analytics
  t.equal(xCache(await getReport(one, f.w.admin, A)), 'MISS', 'instance one computes')
  t.equal(xCache(await getReport(two, f.w.admin, A)), 'HIT', 'instance two reads the shared entry')
  t.equal(xCache(await getReport(two, f.w.admin, A)), 'HIT')
  // Instance two's timer flushes within a second; flush now rather than wait.
  await two.hitRate.flush()
  for (const [name, app] of [
    ['one', one],
    ['two', two],
  ] as const) {
    t.match(
      await hitRate(app, f.w.admin),
      { hits: 2, misses: 1, total_requests: 3, hit_rate: 66.67, source: 'shared' },
      `seen from instance ${name}`,
    )
  }
  // The timer alone also delivers (no explicit flush): poll with a deadline.
  t.equal(xCache(await getReport(two, f.w.admin, A)), 'HIT')
  await until(async () => (await hitRate(one, f.w.admin)).total_requests === 4, 'the timer flush')
  // Another prefix is another deployment: nothing of these counts.
  const elsewhere = await buildTestApp(t, f.db, redisConfig())
  t.match(await hitRate(elsewhere, f.w.admin), { total_requests: 0 })
})

t.test('access and validation', async (t) => {
  const f = await fixture(t)
  const app = await buildTestApp(t, f.db)
  const routes = [
    { method: 'GET', url: '/cache/hit-rate' },
    { method: 'GET', url: '/cache/stats' },
    { method: 'POST', url: '/cache/warm', payload: { report_type: 'analytics' } },
    { method: 'DELETE', url: '/cache' },
    { method: 'DELETE', url: `/cache/reports/${f.reports.analytics}` },
  ] as const
  for (const route of routes) {
    const anonymous = await app.inject(route)
    t.equal(anonymous.statusCode, 401, `${route.method} ${route.url} without a token`)
    t.equal(anonymous.headers['www-authenticate'], 'Bearer')
    for (const user of [f.w.teacherA, f.w.s1, f.w.parent, f.w.tutor]) {
      const res = await app.inject({ ...route, headers: bearer(user) })
      t.equal(res.statusCode, 403, `${route.method} ${route.url} as ${user.role}`)
      t.equal(res.json().code, 'FORBIDDEN')
    }
  }
  const bad = await app.inject({
    method: 'GET',
    url: '/cache/hit-rate?window=2h',
    headers: bearer(f.w.admin),
  })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { code: 'FST_ERR_VALIDATION', message: /^querystring\.window / })
  const unknown = await app.inject({ method: 'GET', url: '/cache/stats?x=1', headers: bearer(f.w.admin) })
  t.equal(unknown.statusCode, 400)
  t.equal(unknown.json().message, 'querystring.x is not an allowed query parameter')
  // The dashboard page holds no data: it needs no token.
  const page = await app.inject({ method: 'GET', url: '/cache/dashboard' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
})

for (const backend of ['memory', 'redis'] as const) {
  t.test(`stats, warm and invalidation on the ${backend} store`, async (t) => {
    const f = await fixture(t)
    const app = await buildTestApp(t, f.db, backend === 'redis' ? redisConfig() : {})
    const { admin: a, admin2 } = f.w
    const A = f.reports.analytics
    const stats = async (user = a) => {
      const res = await app.inject({ method: 'GET', url: '/cache/stats', headers: bearer(user) })
      t.equal(res.statusCode, 200)
      return res.json()
    }
    const warm = (payload: unknown, user = a) =>
      app.inject({ method: 'POST', url: '/cache/warm', headers: bearer(user), payload: payload as object })

    t.test('stats', async (t) => {
      t.same(await stats(), {
        backend,
        status: 'operational',
        ttl_map: {
          student_progress: 300,
          grade_distribution: 900,
          analytics: 1800,
          custom: 3600,
          default: 600,
        },
        keys: 0,
        memory_bytes: 0,
        by_type: {},
        internal: { keys: 0, bytes: 0, by_kind: {} },
      })
      await getReport(app, a, A)
      await getReport(app, a, A, 'granularity=month')
      const s = await stats()
      t.equal(s.by_type.analytics.keys, 2, 'two analytics entries')
      t.ok(s.by_type.analytics.bytes > 100, 'their bytes')
      t.ok(s.keys >= 2 && s.memory_bytes >= s.by_type.analytics.bytes, 'totals include every kind')
      t.same(Object.keys(s.by_type), ['analytics'], 'by_type: report types only')
      t.same(Object.keys(s.internal.by_kind).sort(), ['access', 'definition'], 'internal kinds apart')
      t.equal(s.keys, s.by_type.analytics.keys + s.internal.keys, 'keys: reports plus internal entries')
      t.equal(s.memory_bytes, s.by_type.analytics.bytes + s.internal.bytes, 'bytes: the same split')
      t.equal((await stats(admin2)).keys, 0, "another tenant's stats are its own")
    })

    t.test('warm', async (t) => {
      for (const [payload, message] of [
        [{}, 'body must include exactly one of report_ids or report_type'],
        [
          { report_ids: [A], report_type: 'analytics' },
          'body must include exactly one of report_ids or report_type',
        ],
        [{ report_type: 'nope' }, /^body\.report_type /],
        [{ report_ids: [] }, /^body\.report_ids /],
        [{ report_ids: [A], extra: 1 }, 'body.extra is not an allowed field'],
        [{ report_ids: [A], filters: { colour: 'red' } }, 'body.filters.colour is not an allowed field'],
      ] as const) {
        const res = await warm(payload)
        t.equal(res.statusCode, 400, JSON.stringify(payload))
        t.match(res.json().message, message)
      }

      const computedBefore = (await hitRate(app, a)).total_requests
      const res = await warm({
        report_ids: [f.reports.analytics2, f.reports.custom, 999_999, f.reports.other],
      })
      t.equal(res.statusCode, 200)
      t.same(res.json(), {
        total: 4,
        cached: 2,
        failed: 2,
        errors: [
          { report_id: f.reports.other, message: `Report ${f.reports.other} not found` },
          { report_id: 999_999, message: 'Report 999999 not found' },
        ].sort((x, y) => x.report_id - y.report_id),
      })
      t.equal(xCache(await getReport(app, a, f.reports.analytics2)), 'HIT', 'a warmed report is a HIT next')
      t.equal(xCache(await getReport(app, a, f.reports.custom)), 'HIT')
      t.equal((await hitRate(app, a)).total_requests, computedBefore + 2, 'warming is not counted as GETs')

      // By type, with filters: every analytics report of the tenant, by month.
      const byType = await warm({ report_type: 'analytics', filters: { granularity: 'month' } })
      t.same(byType.json(), { total: 2, cached: 2, failed: 0, errors: [] })
      t.equal(xCache(await getReport(app, a, f.reports.analytics2, 'granularity=month')), 'HIT')
      // Filters a type does not take fail per report, naming the field.
      const wrong = await warm({ report_ids: [f.reports.custom], filters: { granularity: 'week' } })
      t.same(wrong.json().errors, [
        { report_id: f.reports.custom, message: 'filters.granularity applies to analytics reports only' },
      ])
      t.same((await warm({ report_type: 'grade_distribution' })).json(), {
        total: 1,
        cached: 1,
        failed: 0,
        errors: [],
      })
    })

    t.test('DELETE /cache/reports/:id', async (t) => {
      await getReport(app, a, A)
      await getReport(app, a, A, 'granularity=month')
      t.equal(xCache(await getReport(app, a, f.reports.analytics2)), 'HIT', 'warmed above')
      const res = await app.inject({ method: 'DELETE', url: `/cache/reports/${A}`, headers: bearer(a) })
      t.equal(res.statusCode, 200)
      t.same(res.json(), { message: 'Report cache invalidated', report_id: A, invalidated_keys: 2 })
      t.equal(xCache(await getReport(app, a, A)), 'MISS', 'its entries are gone')
      t.equal(xCache(await getReport(app, a, A, 'granularity=month')), 'MISS')
      t.equal(xCache(await getReport(app, a, f.reports.analytics2)), 'HIT', 'other reports stay cached')
      for (const [id, user] of [
        [f.reports.other, a],
        [999_999, a],
        [A, admin2],
      ] as const) {
        const missing = await app.inject({
          method: 'DELETE',
          url: `/cache/reports/${id}`,
          headers: bearer(user),
        })
        t.equal(missing.statusCode, 404, `report ${id} is not in tenant ${user.tenant_id}`)
        t.equal(missing.json().code, 'REPORT_NOT_FOUND')
      }
    })

    t.test('DELETE /cache', async (t) => {
      t.equal(xCache(await getReport(app, a, A)), 'HIT')
      t.equal(xCache(await getReport(app, admin2, f.reports.other)), 'MISS')
      const entries = await app.reportCache.countEntries(a.tenant_id)
      t.ok(entries !== undefined && entries >= 5, 'entries before')
      const res = await app.inject({ method: 'DELETE', url: '/cache', headers: bearer(a) })
      t.equal(res.statusCode, 200)
      t.same(res.json(), { message: 'Cache invalidated', invalidated_keys: entries })
      t.equal(xCache(await getReport(app, a, A)), 'MISS', "the tenant's entries are invalid")
      t.equal(xCache(await getReport(app, a, f.reports.analytics2)), 'MISS')
      t.equal(xCache(await getReport(app, admin2, f.reports.other)), 'HIT', 'another tenant keeps its cache')
    })
  })
}

t.test('hit-rate buckets and windows on a controlled clock', async (t) => {
  t.equal(answerOf('hit', false), 'hits')
  t.equal(answerOf('hit', true), 'not_modified', 'a 304 from a hit (If-Modified-Since)')
  t.equal(answerOf('stale', true), 'not_modified')
  t.equal(answerOf('not-modified', true), 'not_modified')
  t.equal(answerOf('miss', true), 'misses', 'a 304 computed now still cost a computation')
  t.equal(answerOf('bypass', true), 'bypass')
  t.equal(answerOf('coalesced', false), 'coalesced')

  let now = Date.UTC(2026, 0, 1, 12, 0, 0)
  const recorder = new HitRateRecorder({ now: () => now })
  recorder.record(1, 'analytics', 'misses') // 12:00:00
  now += 15_000
  recorder.record(1, 'analytics', 'hits') // 12:00:15
  now += 50_000
  recorder.record(1, 'custom', 'stale') // 12:01:05
  recorder.record(2, 'custom', 'misses')

  // 1m = the current 10 s bucket (12:01:00) and the five before it: the 12:00:00 miss is out.
  const minute = await recorder.window(1, 60, { series: true })
  t.match(minute, { total_requests: 2, hits: 1, stale: 1, misses: 0, hit_rate: 100, source: 'instance' })
  t.same(
    minute.series?.map((p) => [p.start.slice(11, 19), p.total_requests, p.hit_rate]),
    [
      ['12:00:10', 1, 100],
      ['12:00:20', 0, null],
      ['12:00:30', 0, null],
      ['12:00:40', 0, null],
      ['12:00:50', 0, null],
      ['12:01:00', 1, 100],
    ],
  )
  t.equal(minute.last_updated, '2026-01-01T12:01:05.000Z')
  t.match(await recorder.window(1, 3600), {
    total_requests: 3,
    hit_rate: 66.67,
    bucket_seconds: 60,
    by_type: {
      analytics: { hits: 1, misses: 1, hit_rate: 50 },
      custom: { hits: 1, misses: 0, hit_rate: 100 },
    },
  })
  t.match(await recorder.window(2, 3600), { total_requests: 1, misses: 1 }, 'per tenant')

  now += 2 * 3600_000
  recorder.record(1, 'analytics', 'bypass')
  t.match(await recorder.window(1, 3600), { total_requests: 1, bypass: 1, hit_rate: 0 }, 'the hour moved on')
  t.match(await recorder.window(1, 86_400), { total_requests: 4 }, 'the day still holds all')
  now += 23 * 3600_000
  recorder.record(1, 'analytics', 'hits')
  t.match(
    await recorder.window(1, 86_400),
    { total_requests: 2, hits: 1, bypass: 1 },
    'a day later, the first three are out',
  )
})
