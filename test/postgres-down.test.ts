// Postgres down (ARCHITECTURE.md "When things fail"): reads serve the last
// entry as STALE where the type's policy allows stale-if-error, mutations fail
// with a clear 503 and write nothing, /health says down. A real outage: the
// test's own database stops accepting connections and its sessions are ended.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { openDatabase } from '../db/connect.js'
import { migrateToLatest } from '../db/migrate.js'
import { bearer, buildTestApp } from './helpers/app.js'
import { addAssignment, addSubmission, buildWorld } from './helpers/world.js'

const serverUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
const name = `rs_down_${randomBytes(5).toString('hex')}`
const url = new URL(serverUrl)
url.pathname = `/${name}`

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

async function setAccepting(accepting: boolean): Promise<void> {
  await admin(async (c) => {
    await c.query(`alter database "${name}" with allow_connections ${accepting}`)
    if (!accepting) {
      await c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name])
    }
  })
}

t.test('with Postgres down, cached reports are served STALE and mutations get 503', async (t) => {
  await admin((c) => c.query(`create database "${name}"`))
  t.teardown(async () => {
    await setAccepting(false)
    await admin((c) => c.query(`drop database if exists "${name}"`))
  })
  const handle = await openDatabase({ databaseUrl: url.toString(), poolSize: 4 })
  t.teardown(() => handle.close())
  await migrateToLatest(handle.db)
  const w = await buildWorld(handle.db)
  const assignment = await addAssignment(handle.db, w.tenant1, w.c1, 10, '2026-02-01T00:00:00Z')
  const submission = await addSubmission(handle.db, w.tenant1, assignment, w.s1.id, '2026-01-30T00:00:00Z', 6)

  // Entries are past their TTL at once but may stand in for an hour when Postgres fails.
  const app = await buildTestApp(
    t,
    { ...handle, databaseUrl: url.toString() },
    { cachePolicy: { grade_distribution: { ttl: 0, staleWhileRevalidate: 0, staleIfError: 3600 } } },
  )
  const headers = bearer(w.admin)
  const created = await app.inject({
    method: 'POST',
    url: '/reports',
    headers,
    payload: { type: 'grade_distribution', title: 'c1', params: { class_id: w.c1 } },
  })
  const reportUrl = `/reports/${created.json().id}`
  const before = await app.inject({ url: reportUrl, headers })
  t.equal(before.statusCode, 200)
  t.equal(before.headers['x-cache'], 'MISS')

  await setAccepting(false)

  const stale = await app.inject({ url: reportUrl, headers })
  t.equal(stale.statusCode, 200, 'a cached report is still served')
  t.equal(stale.headers['x-cache'], 'STALE')
  t.equal(stale.body, before.body, 'the last entry, byte for byte')

  const grade = await app.inject({
    method: 'PATCH',
    url: `/submissions/${submission}`,
    headers,
    payload: { score: 9 },
  })
  t.equal(grade.statusCode, 503)
  t.match(grade.json(), { code: 'DATABASE_UNAVAILABLE', message: /database is unavailable/ })
  t.notMatch(grade.body, new RegExp(name), 'no connection details leak')
  t.equal(grade.headers['cache-control'], 'no-store')

  const health = await app.inject({ url: '/health' })
  t.equal(health.statusCode, 503)
  t.match(health.json(), { status: 'down', postgres: 'down' })

  const uncached = await app.inject({ url: '/classes', headers })
  t.equal(uncached.statusCode, 503, 'what cannot be served from the cache is a 503, not a 500')

  await setAccepting(true)

  const row = await handle.db
    .selectFrom('submissions')
    .select('score')
    .where('id', '=', submission)
    .executeTakeFirstOrThrow()
  t.equal(Number(row.score), 6, 'the failed mutation wrote nothing')
  const after = await app.inject({ url: reportUrl, headers })
  t.equal(after.statusCode, 200)
  t.equal(after.headers['x-cache'], 'MISS', 'computed again once Postgres is back')
  const healthy = await app.inject({ url: '/health' })
  t.equal(healthy.statusCode, 200)
})
