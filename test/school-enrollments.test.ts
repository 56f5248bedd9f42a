// POST/DELETE /enrollments and PUT /material-progress: permissions, tenant
// rules, validation, committed results, tags, and access taking effect at once.
import t from 'tap'
import { bearer } from './helpers/app.js'
import { recordInvalidations, rejecter, schoolFixture, sender } from './helpers/school.js'
import type { WorldUser } from './helpers/world.js'

const { app, db, w, m1, m2, mx } = await schoolFixture(t)
const calls = recordInvalidations(app)

const send = sender(app)

async function snapshot() {
  const enrollments = await db.db
    .selectFrom('enrollments')
    .select(['class_id', 'student_id'])
    .orderBy('class_id')
    .orderBy('student_id')
    .execute()
  const progress = await db.db
    .selectFrom('material_progress')
    .select(['material_id', 'student_id', 'percent', 'updated_at'])
    .orderBy('material_id')
    .orderBy('student_id')
    .execute()
  return { enrollments, progress }
}

const rejects = rejecter(calls, snapshot)

const enrollmentTags = (c: number, s: number) =>
  [`student:${s}`, `roster:${c}`, `enrolled:${s}`, `school-roster:${w.tenant1}`].sort()

const readClass = (user: WorldUser, id: number) =>
  app.inject({ method: 'GET', url: `/classes/${id}`, headers: bearer(user) })

t.test('POST /enrollments then DELETE: roster and access change on the next request', async (t) => {
  calls.length = 0
  t.equal((await readClass(w.s3, w.c1)).statusCode, 403, 's3 is not in c1 yet')
  const res = await send(w.teacherA, 'POST', '/enrollments', { class_id: w.c1, student_id: w.s3.id })
  t.equal(res.statusCode, 201)
  t.equal(res.headers.location, `/enrollments/${w.c1}/${w.s3.id}`)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['class_id', 'created_at', 'student_id'])
  t.match(body, { class_id: w.c1, student_id: w.s3.id })
  const row = await db.db
    .selectFrom('enrollments')
    .selectAll()
    .where('class_id', '=', w.c1)
    .where('student_id', '=', w.s3.id)
    .executeTakeFirst()
  t.equal(row?.tenant_id, w.tenant1, 'committed')
  t.same(calls, [{ tags: enrollmentTags(w.c1, w.s3.id), reason: 'enrollment.create' }])
  t.equal((await readClass(w.s3, w.c1)).statusCode, 200, 's3 reads c1 at once')
  const roster = (await readClass(w.teacherA, w.c1)).json().students.map((s: { id: number }) => s.id)
  t.same(roster, [w.s1.id, w.s2.id, w.s3.id])

  await rejects(
    t,
    'twice',
    () => send(w.admin, 'POST', '/enrollments', { class_id: w.c1, student_id: w.s3.id }),
    409,
  )

  for (const [user, status] of [
    [w.teacherB, 403],
    [w.s3, 403],
    [w.parent, 403],
    [w.admin2, 404],
  ] as const) {
    await rejects(
      t,
      `${user.name} removes`,
      () => send(user, 'DELETE', `/enrollments/${w.c1}/${w.s3.id}`),
      status,
    )
  }
  calls.length = 0
  const del = await send(w.teacherA, 'DELETE', `/enrollments/${w.c1}/${w.s3.id}`)
  t.equal(del.statusCode, 204)
  t.equal(del.body, '')
  t.same(calls, [{ tags: enrollmentTags(w.c1, w.s3.id), reason: 'enrollment.delete' }])
  t.equal((await readClass(w.s3, w.c1)).statusCode, 403, 's3 loses c1 at once')
  await rejects(t, 'absent enrollment', () => send(w.admin, 'DELETE', `/enrollments/${w.c1}/${w.s3.id}`), 404)
  await rejects(t, 'absent class', () => send(w.admin, 'DELETE', `/enrollments/919191/${w.s3.id}`), 404)
  await rejects(
    t,
    "another tenant's class",
    () => send(w.admin, 'DELETE', `/enrollments/${w.cx}/${w.x1.id}`),
    404,
  )
  await rejects(
    t,
    'bad param',
    () => send(w.admin, 'DELETE', `/enrollments/c1/${w.s3.id}`),
    400,
    /^params\.class_id /,
  )
})

t.test('POST /enrollments: who and what', async (t) => {
  const ok = { class_id: w.c2, student_id: w.s1.id }
  const admin = await send(w.admin, 'POST', '/enrollments', ok)
  t.equal(admin.statusCode, 201, 'an admin enrolls in any class')
  await db.db
    .deleteFrom('enrollments')
    .where('class_id', '=', w.c2)
    .where('student_id', '=', w.s1.id)
    .execute()

  await rejects(t, 'other teacher', () => send(w.teacherA, 'POST', '/enrollments', ok), 403)
  for (const user of [w.s1, w.parent, w.tutor]) {
    await rejects(t, user.name, () => send(user, 'POST', '/enrollments', ok), 403)
  }
  await rejects(
    t,
    "another tenant's caller",
    () => send(w.admin2, 'POST', '/enrollments', ok),
    400,
    'body.class_id does not exist',
  )
  await rejects(
    t,
    "another tenant's student",
    () => send(w.admin, 'POST', '/enrollments', { ...ok, student_id: w.x1.id }),
    400,
    'body.student_id does not exist',
  )
  await rejects(
    t,
    'a parent as student',
    () => send(w.admin, 'POST', '/enrollments', { ...ok, student_id: w.parent.id }),
    400,
    'body.student_id is not a student',
  )
  await rejects(
    t,
    'unknown field',
    () => send(w.admin, 'POST', '/enrollments', { ...ok, role: 'student' }),
    400,
    'body.role is not an allowed field',
  )
  await rejects(
    t,
    'missing student',
    () => send(w.admin, 'POST', '/enrollments', { class_id: w.c2 }),
    400,
    'body.student_id is required',
  )
})

t.test('PUT /material-progress', async (t) => {
  const read = (material: number, student: number) =>
    db.db
      .selectFrom('material_progress')
      .select(['percent', 'tenant_id'])
      .where('material_id', '=', material)
      .where('student_id', '=', student)
      .execute()
  calls.length = 0
  const res = await send(w.s1, 'PUT', '/material-progress', {
    material_id: m1,
    student_id: w.s1.id,
    percent: 50,
  })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { material_id: m1, student_id: w.s1.id, percent: 50 })
  t.match(res.json().updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  t.same(
    (await read(m1, w.s1.id)).map((r) => ({ ...r, percent: Number(r.percent) })),
    [{ percent: 50, tenant_id: w.tenant1 }],
  )
  t.same(calls, [
    {
      tags: [`class-progress:${w.c1}`, `school-progress:${w.tenant1}`, `student:${w.s1.id}`],
      reason: 'material-progress.put',
    },
  ])

  const again = await send(w.teacherA, 'PUT', '/material-progress', {
    material_id: m1,
    student_id: w.s1.id,
    percent: 33.25,
  })
  t.equal(again.statusCode, 200)
  t.equal(again.json().percent, 33.25)
  const rows = await read(m1, w.s1.id)
  t.equal(rows.length, 1, 'upserted, not duplicated')
  t.equal(Number(rows[0].percent), 33.25)
  t.equal(
    (
      await send(w.admin, 'PUT', '/material-progress', { material_id: m2, student_id: w.s3.id, percent: 100 })
    ).json().percent,
    100,
  )
  t.equal(
    (
      await send(w.s2, 'PUT', '/material-progress', { material_id: m2, student_id: w.s2.id, percent: 0 })
    ).json().percent,
    0,
  )

  const ok = { material_id: m1, student_id: w.s2.id, percent: 10 }
  for (const user of [w.teacherB, w.s1, w.parent, w.tutor]) {
    await rejects(t, `${user.name} for s2`, () => send(user, 'PUT', '/material-progress', ok), 403)
  }
  await rejects(
    t,
    'not enrolled',
    () => send(w.admin, 'PUT', '/material-progress', { ...ok, student_id: w.s3.id }),
    400,
    "body.student_id is not enrolled in the material's class",
  )
  await rejects(
    t,
    "another tenant's material",
    () => send(w.admin, 'PUT', '/material-progress', { ...ok, material_id: mx }),
    400,
    'body.material_id does not exist',
  )
  await rejects(
    t,
    "another tenant's student",
    () => send(w.admin, 'PUT', '/material-progress', { ...ok, student_id: w.x1.id }),
    400,
    'body.student_id does not exist',
  )
  await rejects(
    t,
    "another tenant's admin",
    () => send(w.admin2, 'PUT', '/material-progress', ok),
    400,
    'body.material_id does not exist',
  )
  const cases: [string, unknown, string | RegExp][] = [
    ['101 percent', { ...ok, percent: 101 }, 'body.percent must be <= 100'],
    ['negative percent', { ...ok, percent: -0.5 }, 'body.percent must be >= 0'],
    ['text percent', { ...ok, percent: 'half' }, /^body\.percent must be number/],
    ['missing percent', { material_id: m1, student_id: w.s2.id }, 'body.percent is required'],
    ['unknown field', { ...ok, note: 'x' }, 'body.note is not an allowed field'],
  ]
  for (const [what, payload, message] of cases) {
    await rejects(t, what, () => send(w.admin, 'PUT', '/material-progress', payload), 400, message)
  }
})
