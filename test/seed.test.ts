// The demo seed: deterministic for a size and seed, the named users and links
// API.md promises, plausible data, and refusal to overwrite without --reset.
import { type Kysely, sql } from 'kysely'
import t from 'tap'
import type { Database } from '../db/database.js'
import { hasData, SeedRefusedError, type SeedSummary, seedDatabase } from '../db/seed/index.js'
import { createTestDatabase } from './helpers/database.js'

interface Fingerprint {
  counts: Record<string, number>
  checksums: Record<string, string>
}

// Timestamps as epoch seconds: text output would depend on the session time zone.
const CHECKSUMS: Record<string, [row: string, order: string]> = {
  users: [`concat_ws('|', id, tenant_id, email, name, role)`, 'id'],
  classes: [`concat_ws('|', id, tenant_id, name, teacher_id)`, 'id'],
  enrollments: [`concat_ws('|', class_id, student_id)`, 'class_id, student_id'],
  guardians: [`concat_ws('|', parent_id, student_id)`, 'parent_id, student_id'],
  tutor_links: [`concat_ws('|', tutor_id, student_id)`, 'tutor_id, student_id'],
  assignments: [`concat_ws('|', id, class_id, title, max_score, extract(epoch from due_at)::bigint)`, 'id'],
  submissions: [
    `concat_ws('|', id, assignment_id, student_id, extract(epoch from submitted_at)::bigint, score,
    extract(epoch from graded_at)::bigint)`,
    'id',
  ],
  materials: [`concat_ws('|', id, class_id, title)`, 'id'],
  material_progress: [
    `concat_ws('|', material_id, student_id, percent, extract(epoch from updated_at)::bigint)`,
    'material_id, student_id',
  ],
  reports: [`concat_ws('|', id, tenant_id, type, title, params::text, created_by)`, 'id'],
}

async function fingerprint(db: Kysely<Database>): Promise<Fingerprint> {
  const counts: Record<string, number> = {}
  const checksums: Record<string, string> = {}
  for (const [table, [row, order]] of Object.entries(CHECKSUMS)) {
    const { rows } = await sql<{ n: number; md5: string }>`
      select count(*)::int as n, md5(string_agg(${sql.raw(row)}, ',' order by ${sql.raw(order)})) as md5
      from ${sql.table(table)}`.execute(db)
    counts[table] = rows[0].n
    checksums[table] = rows[0].md5
  }
  return { counts, checksums }
}

async function user(db: Kysely<Database>, email: string) {
  return db
    .selectFrom('users')
    .select(['id', 'tenant_id', 'role'])
    .where('email', '=', email)
    .executeTakeFirstOrThrow()
}

const results = new Map<string, { summary: SeedSummary; print: Fingerprint }>()

t.test('seed small with seed 7 into an empty database', async (t) => {
  const { db } = await createTestDatabase(t)
  t.notOk(await hasData(db), 'starts empty')
  const phases = new Set<string>()
  const summary = await seedDatabase(db, {
    size: 'small',
    seed: 7,
    progress: (_d, _t, label) => phases.add(label),
  })
  t.ok(await hasData(db))
  const print = await fingerprint(db)
  results.set('first', { summary, print })

  for (const table of [
    'users',
    'classes',
    'assignments',
    'submissions',
    'materials',
    'material_progress',
    'reports',
  ]) {
    t.equal(summary[table as keyof SeedSummary], print.counts[table], `summary counts ${table}`)
  }
  t.equal(summary.tenants, 2)
  t.ok(
    summary.submissions > 2_000 && summary.submissions < 12_000,
    `a few thousand submissions (${summary.submissions})`,
  )
  t.ok(phases.has('submissions') && phases.has('analyze'), 'progress reports the phases')

  const logged = async () =>
    (
      await sql<{ tenant_id: number | null; tag: string }>`
        select tenant_id, tag from invalidation_log order by seq`.execute(db)
    ).rows
  t.same(
    await logged(),
    [
      { tenant_id: 1, tag: '*' },
      { tenant_id: 2, tag: '*' },
    ],
    'the invalidation log holds the whole of each seeded tenant, not a record per tag',
  )
  await sql`update submissions set score = score where id = 1`.execute(db)
  t.ok((await logged()).length > 2, 'the invalidation triggers record changes again after the seed')

  t.test('tenants and the named users', async (t) => {
    const tenants = await db.selectFrom('tenants').select(['id', 'name']).orderBy('id').execute()
    t.same(tenants, [
      { id: 1, name: 'Demo School' },
      { id: 2, name: 'Other School' },
    ])
    t.same(
      await user(db, 'admin@demo.test'),
      { id: 1, tenant_id: 1, role: 'admin' },
      'admin@demo.test is user 1',
    )
    t.match(await user(db, 'teacher@demo.test'), { tenant_id: 1, role: 'teacher' })
    t.match(await user(db, 'student@demo.test'), { tenant_id: 1, role: 'student' })
    t.match(await user(db, 'parent@demo.test'), { tenant_id: 1, role: 'parent' })
    t.match(await user(db, 'tutor@demo.test'), { tenant_id: 1, role: 'tutor' })
    t.match(await user(db, 'admin@other.test'), { tenant_id: 2, role: 'admin' })
    const roles = await db
      .selectFrom('users')
      .select(['tenant_id', 'role', sql<number>`count(*)::int`.as('n')])
      .groupBy(['tenant_id', 'role'])
      .execute()
    const count = (tenant: number, role: string) =>
      roles.find((r) => r.tenant_id === tenant && r.role === role)?.n
    t.ok(count(1, 'student')! >= 200, 'hundreds of students in tenant 1')
    t.ok(count(1, 'teacher')! > 1 && count(1, 'parent')! > 1 && count(1, 'tutor')! > 1, 'more of each role')
    t.ok(count(2, 'student')! > 1 && count(2, 'teacher')! >= 1, 'tenant 2 has a few users')
  })

  t.test('the links between the named users', async (t) => {
    const student = await user(db, 'student@demo.test')
    const parent = await user(db, 'parent@demo.test')
    const tutor = await user(db, 'tutor@demo.test')
    const teacher = await user(db, 'teacher@demo.test')
    const guardian = await db
      .selectFrom('guardians')
      .selectAll()
      .where('parent_id', '=', parent.id)
      .where('student_id', '=', student.id)
      .executeTakeFirst()
    t.match(guardian, { tenant_id: 1 }, 'parent@ is a guardian of student@')
    const tutee = await db
      .selectFrom('tutor_links')
      .selectAll()
      .where('tutor_id', '=', tutor.id)
      .where('student_id', '=', student.id)
      .executeTakeFirst()
    t.match(tutee, { tenant_id: 1 }, 'tutor@ tutors student@')
    const shared = await db
      .selectFrom('classes')
      .innerJoin('enrollments', 'enrollments.class_id', 'classes.id')
      .select('classes.id')
      .where('classes.teacher_id', '=', teacher.id)
      .where('enrollments.student_id', '=', student.id)
      .execute()
    t.ok(shared.length >= 1, 'teacher@ teaches a class of student@')
    const crossTenant = await sql<{ n: number }>`
      select count(*)::int as n from enrollments e
      join classes c on c.id = e.class_id join users u on u.id = e.student_id
      where c.tenant_id <> e.tenant_id or u.tenant_id <> e.tenant_id or u.role <> 'student'`.execute(db)
    t.equal(crossTenant.rows[0].n, 0, 'enrollments stay inside a tenant and hold students')
  })

  t.test('report definitions', async (t) => {
    const reports = await db
      .selectFrom('reports')
      .select(['id', 'tenant_id', 'type', 'params', 'created_by'])
      .execute()
    const first = reports.find((r) => r.id === 1)
    t.match(
      first,
      { tenant_id: 1, type: 'analytics', created_by: 1 },
      'report 1: whole-school analytics by the admin',
    )
    t.same(first?.params, {})
    const types = new Set(reports.filter((r) => r.tenant_id === 1).map((r) => r.type))
    t.same([...types].sort(), ['analytics', 'custom', 'grade_distribution', 'student_progress'])
    t.ok(reports.some((r) => r.tenant_id === 2))
  })

  t.test('plausible school work', async (t) => {
    const { rows } = await sql<{
      graded: number
      on_time: number
      mean_pct: number
      over_max: number
      outside_year: number
      wrong_tenant: number
    }>`
      select avg((s.score is not null)::int)::float8 as graded,
             avg((s.submitted_at <= a.due_at)::int)::float8 as on_time,
             avg(s.score / a.max_score * 100)::float8 as mean_pct,
             count(*) filter (where s.score > a.max_score)::int as over_max,
             count(*) filter (where s.submitted_at < '2025-09-01' or s.submitted_at > '2026-07-01')::int as outside_year,
             count(*) filter (where s.tenant_id <> a.tenant_id)::int as wrong_tenant
      from submissions s join assignments a on a.id = s.assignment_id`.execute(db)
    const work = rows[0]
    t.ok(work.graded > 0.75 && work.graded < 0.95, `about 85% graded (${work.graded})`)
    t.ok(work.on_time > 0.7 && work.on_time < 0.97, `most on time, some late (${work.on_time})`)
    t.ok(work.mean_pct > 65 && work.mean_pct < 82, `scores cluster around 70–80% (${work.mean_pct})`)
    t.equal(work.over_max, 0, 'no score above max_score')
    t.equal(work.outside_year, 0, 'all submissions in the school year')
    t.equal(work.wrong_tenant, 0)
    const enrolled = await sql<{ n: number }>`
      select count(*)::int as n from submissions s join assignments a on a.id = s.assignment_id
      left join enrollments e on e.class_id = a.class_id and e.student_id = s.student_id
      where e.student_id is null`.execute(db)
    t.equal(enrolled.rows[0].n, 0, 'only enrolled students submit')
  })

  t.test('sequences continue after the explicit ids', async (t) => {
    const row = await db
      .insertInto('users')
      .values({ tenant_id: 1, email: 'new@demo.test', name: 'New', role: 'student' })
      .returning('id')
      .executeTakeFirstOrThrow()
    t.equal(row.id, summary.users + 1)
    await db.deleteFrom('users').where('id', '=', row.id).execute()
  })

  t.test('a second seed is refused; --reset starts over with the same data', async (t) => {
    await t.rejects(seedDatabase(db, { size: 'small', seed: 7 }), SeedRefusedError)
    t.equal(
      (await fingerprint(db)).checksums.submissions,
      print.checksums.submissions,
      'refusal changed nothing',
    )
    const lastSeq = async () =>
      Number(
        (await sql<{ seq: string }>`select max(seq) as seq from invalidation_log`.execute(db)).rows[0].seq,
      )
    const before = await lastSeq()
    await seedDatabase(db, { size: 'small', seed: 7, reset: true })
    t.same(await fingerprint(db), print)
    // The stores skip seqs they remember applying: the log keeps its rows and its seqs keep rising.
    const { rows: logged } = await sql<{ seq: string; tenant_id: number | null; tag: string }>`
      select seq, tenant_id, tag from invalidation_log where seq > ${before} order by seq`.execute(db)
    t.ok(logged.length > 0 && Number(logged[0].seq) === before + 1, 'seqs continue after --reset')
    t.ok(
      logged.some((r) => r.tenant_id === null && r.tag === '*'),
      'the TRUNCATE recorded a reset of every tenant (one record per truncated table)',
    )
    t.same(await user(db, 'admin@demo.test'), { id: 1, tenant_id: 1, role: 'admin' })
  })
})

t.test('the same size and seed into another fresh database gives identical data', async (t) => {
  const { db } = await createTestDatabase(t)
  const summary = await seedDatabase(db, { size: 'small', seed: 7 })
  const first = results.get('first')!
  t.same(summary, first.summary)
  t.same(await fingerprint(db), first.print)
})

t.test('another seed gives different data', async (t) => {
  const { db } = await createTestDatabase(t)
  await seedDatabase(db, { size: 'small', seed: 8 })
  const print = await fingerprint(db)
  const first = results.get('first')!.print
  t.not(print.checksums.submissions, first.checksums.submissions)
  t.not(print.checksums.users, first.checksums.users)
  t.same(await user(db, 'admin@demo.test'), { id: 1, tenant_id: 1, role: 'admin' }, 'still user 1')
})

t.test('bad options are rejected before touching the database', async (t) => {
  const { db } = await createTestDatabase(t)
  await t.rejects(seedDatabase(db, { size: 'small', seed: -1 }), RangeError)
  await t.rejects(seedDatabase(db, { size: 'huge' as 'small' }), RangeError)
  t.notOk(await hasData(db))
})
