// Redis losing data never brings an old answer back (docs/invalidation.md,
// "Redis losing data"): a failover to a replica that missed a bump, a FLUSHALL,
// and writes committed while Redis was down that only the log still holds.
// Private redis-servers and a TCP proxy (the failover behind one address);
// two instances share them. "Stale" is a 200 with data other than the
// database's, or a 304 to the ETag of the answer from before the change.
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import type { App } from '../src/app.js'
import { outsider } from './helpers/outsider.js'
import { startRedisServer } from './helpers/redis-server.js'
import {
  type Caller,
  cacheApp,
  cacheWorld,
  createReports,
  freshData,
  getReport,
  mutateOk,
  type ReportResponse,
  until,
} from './helpers/report-cache.js'
import { startTcpProxy } from './helpers/tcp-proxy.js'

const PREFIX = 'inv-loss:'

function client(t: Test, port: number): Redis {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 })
  redis.on('error', () => {})
  t.teardown(() => redis.disconnect())
  return redis
}

async function warmed(app: App, caller: Caller, id: number): Promise<ReportResponse> {
  return until(async () => {
    const res = await getReport(app, caller, id)
    return res.xCache === 'HIT' && res
  }, `report ${id} cached`)
}

/**
 * Reads on every instance until each answers from the cache again. Every
 * answer on the way must be current and no old ETag may be confirmed.
 * Returns the X-Cache of each instance's first cached answer.
 */
async function neverStale(
  t: Test,
  apps: App[],
  caller: Caller,
  id: number,
  expected: unknown,
  oldEtag: string | undefined,
): Promise<string[]> {
  const firstCached: string[] = []
  for (const [i, app] of apps.entries()) {
    const seen: string[] = []
    let stale = 0
    // Every answer in order, the If-None-Match probes too: any of them may be the one that computes.
    const answered: string[] = []
    await until(async () => {
      const r = await getReport(app, caller, id)
      seen.push(`${r.status} ${r.xCache}`)
      answered.push(r.xCache ?? '')
      if (r.status !== 200 || JSON.stringify(r.data) !== JSON.stringify(expected)) stale++
      if (oldEtag) {
        const probe = await getReport(app, caller, id, { headers: { 'if-none-match': oldEtag } })
        answered.push(probe.xCache ?? '')
        if (probe.status === 304) stale++
      }
      return r.xCache !== 'BYPASS' && r
    }, `instance ${i} to use the cache again`)
    t.equal(stale, 0, `instance ${i}: 0 stale answers (${seen.join(', ')})`)
    firstCached.push(answered.find((x) => x !== 'BYPASS') ?? '')
  }
  return firstCached
}

t.test('failover to a replica that missed a bump: nothing computed before it is served', async (t) => {
  const master = await startRedisServer(t)
  // Replication runs through a link the test can cut: what the master writes after the cut never arrives.
  const link = await startTcpProxy(t, { host: '127.0.0.1', port: master.port })
  const replica = await startRedisServer(t, { args: ['--replicaof', '127.0.0.1', String(link.port)] })
  const proxy = await startTcpProxy(t, { host: '127.0.0.1', port: master.port })
  const cw = await cacheWorld(t)
  const overrides = { redisUrl: proxy.url, redisPrefix: PREFIX }
  const writer = await cacheApp(t, cw, overrides)
  const reader = await cacheApp(t, cw, overrides)
  const apps = [writer.app, reader.app]
  const id = (await createReports(writer.app, cw)).distC1
  const { admin } = cw.w
  for (const app of apps) await warmed(app, admin, id)
  const old = await getReport(reader.app, admin, id)

  // The replica has everything so far, then its link breaks.
  const m = client(t, master.port)
  t.ok(Number(await m.call('WAIT', '1', '5000')) >= 1, 'the replica acknowledged the warm entries')
  link.cut()

  await mutateOk(writer.app, admin, 'PATCH', `/submissions/${cw.subS1A1}`, { score: 1 })
  const expected = await freshData(cw.db, admin, id)
  t.notSame(expected, old.data, 'the grade changed the report')
  t.same((await getReport(reader.app, admin, id)).data, expected, 'fresh on the master')

  // The master dies; the replica, which missed the bump, is promoted behind the same address.
  const seqKey = `${PREFIX}seq:{${cw.w.tenant1}}`
  const bumped = Number(await m.hget(seqKey, 'n'))
  await master.stop()
  const r = client(t, replica.port)
  t.ok(Number(await r.hget(seqKey, 'n')) < bumped, 'the replica missed the bump')
  await r.call('REPLICAOF', 'NO', 'ONE')
  t.ok((await r.keys(`${PREFIX}report:*`)).length > 0, 'the promoted replica holds the old entries')
  proxy.retarget({ host: '127.0.0.1', port: replica.port })

  const [first] = await neverStale(t, apps, admin, id, expected, old.etag)
  t.equal(first, 'MISS', 'the entry from before the failover was not served: recomputed')
})

t.test('FLUSHALL, then writes committed while Redis is down: the log replays them', async (t) => {
  const redis = await startRedisServer(t)
  const cw = await cacheWorld(t)
  // Pruning often, so the test sees the log emptied once the records are delivered.
  const overrides = { redisUrl: redis.url, redisPrefix: PREFIX, invalidationPruneMs: 50 }
  const apps = [(await cacheApp(t, cw, overrides)).app, (await cacheApp(t, cw, overrides)).app]
  const reports = await createReports(apps[0], cw)
  const { admin } = cw.w
  const id = reports.distC1
  const unaffected = reports.distC2
  for (const app of apps) await warmed(app, admin, id)

  // A FLUSHALL (same server, same run_id): entries and versions go together.
  const r = client(t, redis.port)
  await r.flushall()
  await neverStale(t, apps, admin, id, await freshData(cw.db, admin, id), undefined)

  // Redis goes down; a write made in psql commits meanwhile. Nobody can deliver it.
  const old = await getReport(apps[1], admin, id)
  await redis.stop()
  const run = await outsider(t, cw.db)
  await run(`update submissions set score = 3 where id = ${cw.subS1A1}`)
  const { rows } = await sql<{ seq: string }>`select max(seq)::text as seq from invalidation_log`.execute(
    cw.db.db,
  )
  const written = Number(rows[0].seq)
  const expected = await freshData(cw.db, admin, id)
  t.notSame(expected, old.data, 'the write changed the report')
  for (const app of apps) {
    const during = await getReport(app, admin, id)
    t.equal(during.xCache, 'BYPASS', 'Redis down: computed from Postgres')
    t.same(during.data, expected, 'the change is visible at once')
  }

  // Redis comes back empty. The log still holds the record; a relay delivers it.
  await redis.start()
  await neverStale(t, apps, admin, id, expected, old.etag)
  const progress = await until(async () => {
    const { rows } = await sql<{ delivered_seq: string }>`
      select delivered_seq::text from invalidation_consumers where name = ${`redis:${PREFIX}`}`.execute(
      cw.db.db,
    )
    return rows.length > 0 && Number(rows[0].delivered_seq) >= written && Number(rows[0].delivered_seq)
  }, 'the relay to deliver the record written while Redis was down')
  t.ok(progress >= written, `delivered up to ${progress} (record ${written})`)
  await until(async () => {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from invalidation_log where seq <= ${written}`.execute(cw.db.db)
    return rows[0].n === 0
  }, 'the delivered records to be pruned')
  t.pass('delivered records pruned')

  // A report the write did not touch is computed once more (the restart lost it), then HIT.
  const other = await getReport(apps[0], admin, unaffected)
  t.same(other.data, await freshData(cw.db, admin, unaffected))
  t.equal((await getReport(apps[0], admin, unaffected)).xCache, 'HIT')
})
