// Invalidation-log costs and latencies, one run (real Postgres and Redis):
//   1. a 100,000-row INSERT with and without the triggers;
//   2. API mutation (PATCH /submissions/:id) p50/p99 with and without the triggers;
//   3. commit → fresh latency of writes outside the API (raw SQL on its own
//      connection) seen by another instance, Redis and memory stores;
//   4. seed time with and without the triggers (--seed-size, default medium).
// Writes bench/results/invalidation.md. Scratch schemas, dropped at the end.
//   DATABASE_URL=… REDIS_URL=… npx tsx bench/invalidation.ts [--seed-size large]
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { type Kysely, sql } from 'kysely'
import pg from 'pg'
import { openDatabase } from '../db/connect.js'
import type { Database } from '../db/database.js'
import { migrateToLatest } from '../db/migrate.js'
import { TRIGGERED_TABLES } from '../db/migrations/2026-12-01-001-invalidation-log.js'
import { type SeedSize, seedDatabase } from '../db/seed/index.js'
import { buildApp } from '../src/app.js'
import { mintToken } from '../src/auth/token.js'
import { loadConfig } from '../src/config.js'

const DATABASE_URL = process.env.DATABASE_URL
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
if (!DATABASE_URL) throw new Error('DATABASE_URL is required')
const seedSize = (
  process.argv.includes('--seed-size') ? process.argv[process.argv.indexOf('--seed-size') + 1] : 'medium'
) as SeedSize
const SECRET = 'bench-secret-of-sufficient-length'
const schemas: string[] = []
const lines: string[] = []
const say = (line: string) => {
  lines.push(line)
  process.stdout.write(`${line}\n`)
}

async function scratch() {
  const schema = `bench_inv_${randomBytes(4).toString('hex')}`
  schemas.push(schema)
  const handle = await openDatabase({ databaseUrl: DATABASE_URL, schema, poolSize: 10 })
  await migrateToLatest(handle.db)
  return { schema, handle }
}

async function triggers(db: Kysely<Database>, on: boolean) {
  for (const table of Object.keys(TRIGGERED_TABLES)) {
    await sql.raw(`alter table ${table} ${on ? 'enable' : 'disable'} trigger user`).execute(db)
  }
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}
const ms = (v: number) => `${v.toFixed(1)} ms`

async function world(db: Kysely<Database>) {
  const [tenant] = await db.insertInto('tenants').values({ name: 'bench' }).returning('id').execute()
  const T = tenant.id
  const [teacher] = await db
    .insertInto('users')
    .values({ tenant_id: T, email: `t${T}@b`, name: 't', role: 'teacher' })
    .returning('id')
    .execute()
  const [admin] = await db
    .insertInto('users')
    .values({ tenant_id: T, email: `a${T}@b`, name: 'a', role: 'admin' })
    .returning('id')
    .execute()
  const [klass] = await db
    .insertInto('classes')
    .values({ tenant_id: T, name: 'c', teacher_id: teacher.id })
    .returning('id')
    .execute()
  await sql`insert into users (tenant_id, email, name, role)
    select ${T}, 's' || i || '@b', 's' || i, 'student' from generate_series(1, 1000) i`.execute(db)
  await sql`insert into enrollments (tenant_id, class_id, student_id)
    select ${T}, ${klass.id}, id from users where role = 'student' and tenant_id = ${T}`.execute(db)
  await sql`insert into assignments (tenant_id, class_id, title, max_score, due_at)
    select ${T}, ${klass.id}, 'a' || i, 10, '2024-03-01T00:00:00Z' from generate_series(1, 100) i`.execute(db)
  return { T, teacher: teacher.id, admin: admin.id, klass: klass.id }
}

// 1. Bulk statement.
{
  const { handle } = await scratch()
  const db = handle.db
  const w = await world(db)
  for (const on of [false, true, false, true]) {
    await triggers(db, on)
    await sql`delete from submissions`.execute(db)
    const before = Number(
      (await sql<{ n: number }>`select count(*)::int n from invalidation_log`.execute(db)).rows[0].n,
    )
    const started = performance.now()
    await sql`insert into submissions (tenant_id, assignment_id, student_id, submitted_at, score)
      select ${w.T}, a.id, u.id, now(), 5 from assignments a cross join users u where u.role = 'student'`.execute(
      db,
    )
    const took = performance.now() - started
    const after = Number(
      (await sql<{ n: number }>`select count(*)::int n from invalidation_log`.execute(db)).rows[0].n,
    )
    say(`bulk 100,000-row INSERT, triggers ${on ? 'on ' : 'off'}: ${ms(took)}, ${after - before} log records`)
  }
  await handle.close()
}

// 2. API mutation latency, and 3. commit → fresh outside the API.
for (const store of ['redis', 'memory'] as const) {
  const { schema, handle } = await scratch()
  const db = handle.db
  const w = await world(db)
  await sql`insert into submissions (tenant_id, assignment_id, student_id, submitted_at, score)
    select ${w.T}, a.id, u.id, now(), 5 from assignments a cross join users u where u.role = 'student' limit 2000`.execute(
    db,
  )
  const prefix = `bench:${randomBytes(4).toString('hex')}:`
  const config = {
    ...loadConfig({}),
    databaseUrl: DATABASE_URL,
    databaseSchema: schema,
    jwtSecret: SECRET,
    logLevel: 'silent',
    redisPrefix: prefix,
    redisUrl: store === 'redis' ? REDIS_URL : undefined,
  }
  const a = await buildApp({ config, db: handle, logger: false })
  const b = await buildApp({ config, db: handle, logger: false })
  await a.ready()
  await b.ready()
  const ids = (await db.selectFrom('submissions').select('id').orderBy('id').limit(400).execute()).map(
    (r) => r.id,
  )
  const teacher = `Bearer ${mintToken(SECRET, { sub: w.teacher, tid: w.T, role: 'teacher' })}`
  const admin = `Bearer ${mintToken(SECRET, { sub: w.admin, tid: w.T, role: 'admin' })}`
  if (store === 'redis') {
    for (const on of [false, true, false, true]) {
      await triggers(db, on)
      const times: number[] = []
      for (const [i, id] of ids.slice(0, 200).entries()) {
        const started = performance.now()
        const res = await a.inject({
          method: 'PATCH',
          url: `/submissions/${id}`,
          headers: { authorization: teacher },
          payload: { score: i % 10 },
        })
        times.push(performance.now() - started)
        if (res.statusCode !== 200) throw new Error(`PATCH ${res.statusCode}`)
      }
      say(
        `API PATCH /submissions/:id (Redis), triggers ${on ? 'on ' : 'off'}: p50 ${ms(pct(times, 50))}, p99 ${ms(pct(times, 99))} (n=${times.length})`,
      )
    }
  }
  // Commit → fresh on the other instance, raw SQL on its own connection.
  const created = await a.inject({
    method: 'POST',
    url: '/reports',
    headers: { authorization: admin },
    payload: { type: 'grade_distribution', title: 'd', params: { class_id: w.klass } },
  })
  const reportId = created.json().id as number
  const client = new pg.Client({ connectionString: DATABASE_URL, options: `-c search_path=${schema}` })
  await client.connect()
  const latencies: number[] = []
  for (let i = 0; i < 60; i++) {
    let etag: string | undefined
    for (;;) {
      const res = await b.inject({
        method: 'GET',
        url: `/reports/${reportId}`,
        headers: { authorization: admin },
      })
      etag = res.headers.etag as string
      if (res.headers['x-cache'] === 'HIT') break
      await new Promise((resolve) => setImmediate(resolve))
    }
    await client.query(`update submissions set score = ${i % 2 === 0 ? 1 : 9} where id = ${ids[i]}`)
    const committed = performance.now()
    for (;;) {
      const res = await b.inject({
        method: 'GET',
        url: `/reports/${reportId}`,
        headers: { authorization: admin },
      })
      if (res.headers.etag !== etag) break
      // A memory-store HIT does no I/O: give the relay's NOTIFY socket a turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve))
    }
    latencies.push(performance.now() - committed)
  }
  say(
    `commit → fresh on another instance, raw SQL (${store} store): p50 ${ms(pct(latencies, 50))}, p99 ${ms(pct(latencies, 99))} (n=${latencies.length})`,
  )
  await client.end()
  await a.close()
  await b.close()
  await handle.close()
}

// 4. Seed time.
for (const on of [false, true]) {
  const { handle } = await scratch()
  await triggers(handle.db, on)
  const started = performance.now()
  await seedDatabase(handle.db, { size: seedSize })
  const took = performance.now() - started
  const records = (await sql<{ n: number }>`select count(*)::int n from invalidation_log`.execute(handle.db))
    .rows[0].n
  say(
    `seed --size ${seedSize}, triggers ${on ? 'on ' : 'off'}: ${(took / 1000).toFixed(1)} s, ${records} log records`,
  )
  await handle.close()
}

const admin = new pg.Client({ connectionString: DATABASE_URL })
await admin.connect()
for (const schema of schemas) await admin.query(`drop schema if exists "${schema}" cascade`)
await admin.end()
writeFileSync(
  'bench/results/invalidation.md',
  `# Invalidation log (one run, ${new Date().toISOString()}, load average at start shared with other work)\n\n${lines.map((l) => `- ${l}`).join('\n')}\n`,
)
