// Report computations on a Postgres streaming replica (DATABASE_REPLICA_URL):
// a private primary and a replica made by `pg_basebackup -R`, started and
// stopped here. The replica serves a computation only once it has replayed
// every change the computation's stamp covers (db/replica.ts):
// 1. cold computations run on the replica once it has caught up, shown by the
//    replica's pg_stat_database counters (the share is printed);
// 2. with replay held back (recovery_min_apply_delay), a mutation followed at
//    once by a GET is never stale: the primary computes, and /health says
//    `lagging` while the replica trails past REPLICA_MAX_LAG_MS;
// 3. a replica that is down: /health says so and the primary computes.
import t, { type Test } from 'tap'
import { openDatabase } from '../db/connect.js'
import { migrateToLatest } from '../db/migrate.js'
import { type App, buildApp } from '../src/app.js'
import type { Config } from '../src/config.js'
import { buildTestApp, testConfig } from './helpers/app.js'
import type { TestDatabase } from './helpers/database.js'
import { startPrimaryAndReplica } from './helpers/postgres-replica.js'
import {
  type CacheWorld,
  cacheWorld,
  createReports,
  freshData,
  getReport,
  mutateOk,
  privatePrefix,
  SHARED_REDIS_URL,
  until,
} from './helpers/report-cache.js'

const { primary, replica } = await startPrimaryAndReplica(t)
await primary.query('create database test')
await until(
  () =>
    replica.query('select 1', 'test').then(
      () => true,
      () => false,
    ),
  'the new database on the replica',
)
const handle = await openDatabase({ databaseUrl: primary.url('test'), poolSize: 5 })
t.teardown(() => handle.close())
await migrateToLatest(handle.db)
const db: TestDatabase = { ...handle, databaseUrl: primary.url('test') }
const cw: CacheWorld = await cacheWorld(t, db)

function replicaConfig(t: Test, maxLagMs: number): Partial<Config> {
  return {
    databaseReplicaUrl: replica.url('test'),
    replicaMaxLagMs: maxLagMs,
    redisUrl: SHARED_REDIS_URL,
    redisPrefix: privatePrefix(t),
  }
}

function replicaApp(t: Test, maxLagMs = 2000): Promise<App> {
  return buildTestApp(t, db, replicaConfig(t, maxLagMs))
}

async function health(app: App): Promise<{ status: string; replica?: string }> {
  return (await app.inject({ url: '/health' })).json()
}

/** Rows the replica's own queries returned so far (its pg_stat_database). */
async function rowsRead(server: typeof replica): Promise<number> {
  const [row] = await server.query<{ n: string }>(
    "select (tup_returned + tup_fetched)::text as n from pg_stat_database where datname = 'test'",
  )
  return Number(row.n)
}

async function caughtUp(): Promise<void> {
  const [{ lsn }] = await primary.query<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn')
  await until(async () => {
    const [row] = await replica.query<{ ok: boolean }>(
      `select pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn as ok`,
      'test',
    )
    return row.ok
  }, 'the replica to replay the primary')
}

t.test('cold computations run on the replica once it has caught up', async (t) => {
  // Closed here, before the counters are read (see below).
  const app = await buildApp({ config: testConfig(db, replicaConfig(t, 2000)), db, logger: false })
  let closed = false
  t.teardown(() => (closed ? undefined : app.close()))
  await app.ready()
  t.equal((await health(app)).replica, 'up', '/health: replica up')
  const reports = Object.values(await createReports(app, cw))
  await caughtUp()
  const before = await rowsRead(replica)
  for (const id of reports) {
    const res = await getReport(app, cw.w.admin, id)
    t.equal(res.status, 200)
    t.same(res.data, await freshData(db, cw.w.admin, id), `report ${id}: current data`)
  }
  const router = app.replica
  if (!router) throw new Error('no replica router')
  const { replica: onReplica, primary: onPrimary } = router.computations
  const share = onReplica / (onReplica + onPrimary)
  // Closing the app ends its replica connections, which flushes their statistics.
  await app.close()
  closed = true
  const grown = await until(async () => {
    const after = await rowsRead(replica)
    return after > before ? after - before : undefined
  }, "the replica's pg_stat_database to count the computations' reads")
  t.comment(
    `replica served ${onReplica} of ${onReplica + onPrimary} cold computations (${(share * 100).toFixed(0)} %); ` +
      `its pg_stat_database counted ${grown} more rows read`,
  )
  t.ok(onReplica > 0, 'computations ran on the replica')
  t.ok(share >= 0.5, 'most cold computations ran on the replica')
})

t.test('with replay held back, a mutation then a GET is never stale; /health says lagging', async (t) => {
  const app = await replicaApp(t, 300)
  await until(async () => (await health(app)).replica === 'up', 'the replica up')
  await replica.configure({ recovery_min_apply_delay: '1500ms' })
  t.teardown(() => replica.configure({ recovery_min_apply_delay: '0' }))
  const id = (await createReports(app, cw)).distC1
  await getReport(app, cw.w.admin, id)
  const router = app.replica
  if (!router) throw new Error('no replica router')
  const onPrimary = router.computations.primary
  for (const score of [1, 7, 3, 9]) {
    await mutateOk(app, cw.w.admin, 'PATCH', `/submissions/${cw.subS1A1}`, { score })
    const res = await getReport(app, cw.w.admin, id)
    t.equal(res.status, 200)
    t.same(res.data, await freshData(db, cw.w.admin, id), `score ${score}: the GET right after shows it`)
  }
  t.ok(router.computations.primary >= onPrimary + 4, 'the primary computed while the replica trailed')
  await until(async () => (await health(app)).replica === 'lagging', '/health: replica lagging')
  t.equal((await health(app)).status, 'degraded')
  await replica.configure({ recovery_min_apply_delay: '0' })
  await until(async () => (await health(app)).replica === 'up', '/health: replica up again')
})

t.test('a replica that is down: /health says so, the primary computes', async (t) => {
  const app = await replicaApp(t)
  await replica.stop()
  await until(async () => (await health(app)).replica === 'down', '/health: replica down')
  const id = (await createReports(app, cw)).progressS1
  const res = await getReport(app, cw.w.admin, id)
  t.equal(res.status, 200, 'served from the primary')
  t.same(res.data, await freshData(db, cw.w.admin, id))
  t.equal((await health(app)).status, 'degraded')
})
