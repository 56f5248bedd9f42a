// The invalidation log itself: a bulk statement writes one record per
// distinct tag it touched (not one per row), and under a sustained write load
// delivered records are pruned, so the log stays bounded and drains.
import { sql } from 'kysely'
import t from 'tap'
import { logSize } from '../src/invalidation/log.js'
import { buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import { until } from './helpers/report-cache.js'
import { buildWorld } from './helpers/world.js'

t.test('a 100,000-row statement writes one record per distinct tag', async (t) => {
  const db = await createTestDatabase(t)
  const w = await buildWorld(db.db)
  const T = w.tenant1
  await sql`
    insert into users (tenant_id, email, name, role)
    select ${T}, 'bulk' || i || '@demo.test', 'bulk ' || i, 'student' from generate_series(1, 1000) as i`.execute(
    db.db,
  )
  await sql`
    insert into assignments (tenant_id, class_id, title, max_score, due_at)
    select ${T}, ${w.c1}, 'bulk ' || i, 10, '2024-03-01T00:00:00Z' from generate_series(1, 100) as i`.execute(
    db.db,
  )
  const before = await logSize(db.db)
  const inserted = await sql`
    insert into submissions (tenant_id, assignment_id, student_id, submitted_at, score)
    select ${T}, a.id, u.id, '2024-02-20T00:00:00Z', 5
    from assignments a cross join users u
    where a.title like 'bulk %' and u.email like 'bulk%'`.execute(db.db)
  t.equal(Number(inserted.numAffectedRows), 100_000, '100,000 rows in one statement')
  // 1000 students, 100 assignments, the class's work and the tenant's work.
  t.equal((await logSize(db.db)) - before, 1000 + 100 + 1 + 1, 'one record per distinct (tenant, tag)')
})

t.test('a sustained write load: the log stays bounded and drains', async (t) => {
  const db = await createTestDatabase(t)
  const w = await buildWorld(db.db)
  const [assignment] = await db.db
    .insertInto('assignments')
    .values({
      tenant_id: w.tenant1,
      class_id: w.c1,
      title: 'Load',
      max_score: 100,
      due_at: '2024-03-01T00:00:00Z',
    })
    .returning('id')
    .execute()
  const [submission] = await db.db
    .insertInto('submissions')
    .values({
      tenant_id: w.tenant1,
      assignment_id: assignment.id,
      student_id: w.s1.id,
      submitted_at: '2024-02-20T00:00:00Z',
      score: 0,
    })
    .returning('id')
    .execute()
  await buildTestApp(t, db, { invalidationPruneMs: 50 })
  const MUTATIONS = 3000
  let largest = 0
  for (let i = 1; i <= MUTATIONS; i++) {
    // Four records each (student, assignment, class work, school work).
    await sql`update submissions set score = ${i % 100} where id = ${submission.id}`.execute(db.db)
    if (i % 100 === 0) largest = Math.max(largest, await logSize(db.db))
  }
  t.comment(`largest log seen: ${largest} records of ${MUTATIONS * 4} written`)
  t.ok(largest < (MUTATIONS * 4) / 3, 'delivered records are pruned while writes go on')
  await until(async () => (await logSize(db.db)) === 0, 'the log to drain once delivered', 30_000)
  t.pass('drained')
})
