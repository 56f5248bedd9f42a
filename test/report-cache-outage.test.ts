// Redis failures at the HTTP level, on a private redis-server controlled by
// pid: killed (restarts empty), paused with SIGSTOP (restarts with its data),
// and absent when the app starts. Reports are always answered 200 from
// Postgres with X-Cache BYPASS, mutations still succeed, an invalidation that
// could not reach Redis never lets an old entry be served afterwards, /health
// tells, and the cache is used again once Redis is back.
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import type { App } from '../src/app.js'
import { RedisStore } from '../src/cache/redis-store.js'
import { deliveredSeq } from '../src/invalidation/log.js'
import type { TestDatabase } from './helpers/database.js'
import { type RedisServer, startRedisServer } from './helpers/redis-server.js'
import {
  type CacheWorld,
  cacheApp,
  cacheWorld,
  createReports,
  freshData,
  getReport,
  mutateOk,
  type ReportResponse,
  until,
} from './helpers/report-cache.js'

const PREFIX = 'rc-outage:'

async function health(app: App): Promise<{ code: number; status: string; redis: string }> {
  const res = await app.inject({ method: 'GET', url: '/health' })
  const body = res.json() as { status: string; redis: string }
  return { code: res.statusCode, status: body.status, redis: body.redis }
}

function breakerState(app: App): string {
  const store = app.reportCache.store
  if (!(store instanceof RedisStore)) throw new Error('expected the Redis store')
  return store.breaker.state
}

async function lastSeq(db: TestDatabase): Promise<number> {
  const { rows } = await sql<{ seq: string | null }>`select max(seq) as seq from invalidation_log`.execute(
    db.db,
  )
  return Number(rows[0].seq)
}

/** GETs until X-Cache is no longer BYPASS; every answer on the way must be 200 with `expected` data. */
async function untilCached(
  t: Test,
  get: () => Promise<ReportResponse>,
  expected: unknown,
): Promise<ReportResponse> {
  const seen: string[] = []
  const res = await until(async () => {
    const r = await get()
    seen.push(`${r.status} ${r.xCache}`)
    t.equal(r.status, 200, 'answered 200 while Redis recovers')
    t.same(r.data, expected, `current data (${r.xCache})`)
    return r.xCache !== 'BYPASS' && r
  }, 'the cache to be used again')
  t.comment(`answers while recovering: ${seen.join(', ')}`)
  return res
}

/**
 * After Redis comes back, the relay delivers the outage's records on its own
 * clock: if they land after the first recomputation was stored, they
 * (conservatively) retire it once. Once they are delivered, the report is
 * cached for good: one more GET may compute, the next is a HIT.
 */
async function hitOnceDelivered(
  t: Test,
  cw: CacheWorld,
  app: App,
  get: () => Promise<ReportResponse>,
  expected: unknown,
): Promise<void> {
  await until(
    async () =>
      ((await deliveredSeq(cw.db.db, app.invalidation.relay.consumer)) ?? -1) >= (await lastSeq(cw.db)),
    "the relay to deliver the outage's records",
  )
  const settled = await get()
  t.ok(['HIT', 'MISS'].includes(settled.xCache ?? ''), `after delivery: ${settled.xCache}`)
  t.same(settled.data, expected)
  const hit = await get()
  t.equal(hit.xCache, 'HIT')
  t.same(hit.data, expected)
}

async function entryKeys(server: RedisServer, pattern: string): Promise<number> {
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 })
  try {
    let cursor = '0'
    let count = 0
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
      cursor = next
      count += keys.length
    } while (cursor !== '0')
    return count
  } finally {
    client.disconnect()
  }
}

t.test('Redis killed, then restarted empty', async (t) => {
  const redis = await startRedisServer(t)
  const cw = await cacheWorld(t)
  const { app } = await cacheApp(t, cw, { redisUrl: redis.url, redisPrefix: PREFIX })
  const reports = await createReports(app, cw)
  const { admin } = cw.w
  const id = reports.distC1
  t.same(await health(app), { code: 200, status: 'ok', redis: 'up' })

  t.equal((await getReport(app, admin, id)).xCache, 'MISS')
  t.equal((await getReport(app, admin, id)).xCache, 'HIT')

  await redis.stop()
  const before = await freshData(cw.db, admin, id)
  for (let i = 0; i < 10; i++) {
    const res = await getReport(app, admin, id)
    t.equal(res.status, 200, `GET ${i + 1} while Redis is down: 200`)
    t.equal(res.xCache, 'BYPASS')
    t.same(res.data, before, 'computed from Postgres')
  }
  t.equal(breakerState(app), 'open', 'the circuit breaker stopped waiting on the dead Redis')
  t.same(await health(app), { code: 200, status: 'degraded', redis: 'down' }, '/health: Redis down')

  // Mutations still succeed (their invalidation is kept for later).
  await mutateOk(app, admin, 'PATCH', `/submissions/${cw.subS1A1}`, { score: 2 })
  await mutateOk(app, admin, 'PUT', '/material-progress', {
    material_id: cw.m1,
    student_id: cw.w.s1.id,
    percent: 30,
  })
  const after = await freshData(cw.db, admin, id)
  t.notSame(after, before, 'the grade changed the report')
  const during = await getReport(app, admin, id)
  t.equal(during.xCache, 'BYPASS')
  t.same(during.data, after, 'the change is visible at once')

  await redis.start()
  const back = await untilCached(t, () => getReport(app, admin, id), after)
  t.equal(back.xCache, 'MISS', 'Redis came back empty: computed and stored')
  await hitOnceDelivered(t, cw, app, () => getReport(app, admin, id), after)
  await until(async () => (await health(app)).redis === 'up', '/health to show Redis up')
  t.same(await health(app), { code: 200, status: 'ok', redis: 'up' })
})

t.test('Redis paused (SIGSTOP) keeps its data: a bump made meanwhile still wins', async (t) => {
  const redis = await startRedisServer(t)
  // Resume before the server is killed in teardown, whatever happens.
  t.teardown(() => {
    if (redis.paused) redis.resume()
  })
  const cw = await cacheWorld(t)
  const { app } = await cacheApp(t, cw, { redisUrl: redis.url, redisPrefix: PREFIX })
  const reports = await createReports(app, cw)
  const { admin } = cw.w
  const affected = reports.distC1
  const unaffected = reports.progressS2
  for (const id of [affected, unaffected]) {
    await getReport(app, admin, id)
    t.equal((await getReport(app, admin, id)).xCache, 'HIT', `report ${id} warm`)
  }
  const oldAffected = await getReport(app, admin, affected)

  redis.pause()
  // The grade commits; its bump times out against the frozen Redis and is kept.
  await mutateOk(app, admin, 'PATCH', `/submissions/${cw.subS1A1}`, { score: 1 })
  const expected = await freshData(cw.db, admin, affected)
  t.notSame(expected, oldAffected.data, 'the grade changed the report')
  for (let i = 0; i < 5; i++) {
    const res = await getReport(app, admin, affected)
    t.equal(res.status, 200)
    t.equal(res.xCache, 'BYPASS', `GET ${i + 1} while Redis is frozen: BYPASS`)
    t.same(res.data, expected, 'with the new grade')
  }
  t.equal(breakerState(app), 'open', 'the breaker stopped waiting')
  t.equal((await health(app)).redis, 'down', '/health: Redis down while frozen')

  redis.resume()
  t.ok(
    (await entryKeys(redis, `${PREFIX}report:{${cw.w.tenant1}}:${affected}:*`)) > 0,
    'the pre-grade entry survived the pause',
  )
  const back = await untilCached(t, () => getReport(app, admin, affected), expected)
  t.equal(back.xCache, 'MISS', 'the surviving pre-grade entry is not served: recomputed')
  t.not(back.etag, oldAffected.etag)
  const hit = await getReport(app, admin, affected)
  t.equal(hit.xCache, 'HIT')
  t.same(hit.data, expected)
  // The unrelated entry survived and is still valid.
  const other = await getReport(app, admin, unaffected)
  t.equal(other.xCache, 'HIT', "an entry the grade did not touch is served from Redis's kept data")
  t.same(other.data, await freshData(cw.db, admin, unaffected))
  await until(async () => (await health(app)).redis === 'up', '/health to show Redis up')
})

t.test(
  'Redis restarts from a snapshot that misses a bump, and the instance that made it is gone',
  async (t) => {
    const redis = await startRedisServer(t)
    const cw = await cacheWorld(t)
    const writer = await cacheApp(t, cw, { redisUrl: redis.url, redisPrefix: PREFIX })
    const reader = await cacheApp(t, cw, { redisUrl: redis.url, redisPrefix: PREFIX })
    const reports = await createReports(writer.app, cw)
    const { admin } = cw.w
    const id = reports.distC1
    await getReport(reader.app, admin, id)
    const old = await getReport(reader.app, admin, id)
    t.equal(old.xCache, 'HIT', 'warm on the reading instance')

    // Redis persists the warm entry, then crashes.
    await redis.snapshot()
    await redis.stop()
    // A grade commits on the other instance; its bump cannot reach Redis, and that
    // instance goes away before it could re-send it.
    await mutateOk(writer.app, admin, 'PATCH', `/submissions/${cw.subS1A1}`, { score: 1 })
    await writer.app.close()
    const expected = await freshData(cw.db, admin, id)
    t.notSame(expected, old.data, 'the grade changed the report')

    // Redis comes back with the pre-grade entry and tag versions from its snapshot.
    await redis.start()
    t.ok(
      (await entryKeys(redis, `${PREFIX}report:{${cw.w.tenant1}}:${id}:*`)) > 0,
      'the pre-grade entry is back in Redis',
    )
    // Read as soon as the reader's connection is up: it must not serve the restored entry.
    await until(() => reader.app.redis.status === 'ready', "the reader's reconnection")
    const back = await untilCached(t, () => getReport(reader.app, admin, id), expected)
    t.equal(back.xCache, 'MISS', 'restarted Redis: entries from before the restart are not served')
    t.not(back.etag, old.etag)
    t.equal((await getReport(reader.app, admin, id)).xCache, 'HIT')
  },
)

t.test('the app starts while Redis is down, then uses it once it is up', async (t) => {
  const redis = await startRedisServer(t, { start: false })
  const cw = await cacheWorld(t)
  const { app } = await cacheApp(t, cw, { redisUrl: redis.url, redisPrefix: PREFIX })
  const reports = await createReports(app, cw)
  const { admin } = cw.w
  const id = reports.analyticsAll
  const expected = await freshData(cw.db, admin, id)
  for (let i = 0; i < 3; i++) {
    const res = await getReport(app, admin, id)
    t.equal(res.status, 200)
    t.equal(res.xCache, 'BYPASS', `GET ${i + 1} with no Redis: BYPASS`)
    t.same(res.data, expected)
  }
  t.same(await health(app), { code: 200, status: 'degraded', redis: 'down' })
  await mutateOk(app, admin, 'PATCH', `/submissions/${cw.subS2B1}`, { score: 1 })
  const changed = await freshData(cw.db, admin, id)

  await redis.start()
  const back = await untilCached(t, () => getReport(app, admin, id), changed)
  t.equal(back.xCache, 'MISS')
  await hitOnceDelivered(t, cw, app, () => getReport(app, admin, id), changed)
  await until(async () => (await health(app)).redis === 'up', '/health to show Redis up')
})
