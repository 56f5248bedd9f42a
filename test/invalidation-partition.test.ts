// One instance cut off from Redis by a TCP proxy the test cuts. A mutation on
// the cut-off instance answers 2xx only once its log records are delivered
// (here by the other instance's relay): 0 stale reads on the other instance
// after the 2xx. Then the cut-off instance (a child process) is stopped by
// SIGTERM, or killed by SIGKILL right after the commit, before it reconnects:
// its records stay in the log and the next relay delivers them, so nothing is
// lost. Real Postgres only (a child process shares the database).
import t, { type Test } from 'tap'
import type { App } from '../src/app.js'
import { buildApp } from '../src/app.js'
import { RedisStore } from '../src/cache/redis-store.js'
import { TEST_JWT_SECRET, testConfig, tokenFor } from './helpers/app.js'
import { startChildServer } from './helpers/child-server.js'
import {
  type CacheWorld,
  cacheApp,
  cacheWorld,
  createReports,
  freshData,
  getReport,
  privatePrefix,
  SHARED_REDIS_URL,
  until,
} from './helpers/report-cache.js'
import { startTcpProxy } from './helpers/tcp-proxy.js'

const READS = 50

if (!process.env.DATABASE_URL) {
  t.pass('needs DATABASE_URL (a child process shares the database)')
} else {
  const redis = new URL(SHARED_REDIS_URL)
  const target = { host: redis.hostname, port: Number(redis.port || 6379) }

  async function currentScore(cw: CacheWorld, id: number): Promise<number | null> {
    const row = await cw.db.db
      .selectFrom('submissions')
      .select('score')
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
    return row.score === null ? null : Number(row.score)
  }

  /** READS reads on `app`: how many were not the data as computed from the database now. */
  async function staleReads(t: Test, app: App, cw: CacheWorld, report: number): Promise<number> {
    const expected = JSON.stringify(await freshData(cw.db, cw.w.admin, report))
    let stale = 0
    const seen = new Set<string>()
    for (let i = 0; i < READS; i++) {
      const got = await getReport(app, cw.w.admin, report)
      seen.add(`${got.status} ${got.xCache}`)
      if (got.status !== 200 || JSON.stringify(got.data) !== expected) stale++
    }
    t.comment(`reads: ${[...seen].join(', ')}`)
    return stale
  }

  t.test('mutation on the cut-off instance: 0 stale reads on the other after the 2xx', async (t) => {
    const cw = await cacheWorld(t)
    const prefix = privatePrefix(t)
    const proxy = await startTcpProxy(t, target)
    const cut = (await cacheApp(t, cw, { redisUrl: proxy.url, redisPrefix: prefix })).app
    const other = (await cacheApp(t, cw, { redisUrl: SHARED_REDIS_URL, redisPrefix: prefix })).app
    const r = await createReports(other, cw)
    await until(
      async () => (await getReport(other, cw.w.admin, r.distC1)).xCache === 'HIT',
      'a cached report',
    )

    proxy.cut()
    const res = await cut.inject({
      method: 'PATCH',
      url: `/submissions/${cw.subS1A1}`,
      headers: { authorization: `Bearer ${tokenFor(cw.w.teacherA)}` },
      payload: { score: 1 },
    })
    t.equal(res.statusCode, 200)
    const store = cut.reportCache.store
    t.ok(
      store instanceof RedisStore && store.pendingInvalidations() > 0,
      'the writer could not reach Redis itself',
    )
    t.equal(
      res.headers['x-invalidation'],
      undefined,
      "delivered by the other instance's relay within the bound",
    )
    t.equal(await staleReads(t, other, cw, r.distC1), 0, '0 stale reads after the 2xx')
    proxy.heal()
  })

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    t.test(`cut-off instance stopped by ${signal} after the commit, before it reconnects`, async (t) => {
      const cw = await cacheWorld(t)
      const prefix = privatePrefix(t)
      const proxy = await startTcpProxy(t, target)
      // An instance that cached the report in Redis, then went away (its relay would deliver otherwise).
      const first = await buildApp({
        config: testConfig(cw.db, { redisUrl: SHARED_REDIS_URL, redisPrefix: prefix }),
        db: cw.db,
        logger: false,
      })
      const r = await createReports(first, cw)
      await until(
        async () => (await getReport(first, cw.w.admin, r.distC1)).xCache === 'HIT',
        'a cached report',
      )
      await first.close()

      const child = await startChildServer(t, {
        DATABASE_URL: cw.db.databaseUrl ?? '',
        DATABASE_SCHEMA: cw.db.schema ?? '',
        REDIS_URL: proxy.url,
        REDIS_PREFIX: prefix,
        JWT_SECRET: TEST_JWT_SECRET,
      })
      proxy.cut()
      const before = await currentScore(cw, cw.subS1A1)
      const answer = fetch(`${child.base}/submissions/${cw.subS1A1}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${tokenFor(cw.w.teacherA)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ score: 2 }),
      }).then(
        (res) => `${res.status} ${res.headers.get('x-invalidation') ?? ''}`.trim(),
        () => 'no answer',
      )
      await until(async () => (await currentScore(cw, cw.subS1A1)) !== before, 'the change committed')
      // Nobody could deliver yet: the writer is cut off and no other instance runs.
      await child.stop(signal)
      t.comment(`the cut-off instance answered: ${await answer}`)

      const next = (await cacheApp(t, cw, { redisUrl: SHARED_REDIS_URL, redisPrefix: prefix })).app
      t.equal(await staleReads(t, next, cw, r.distC1), 0, `0 stale reads after ${signal}`)
    })
  }
}
