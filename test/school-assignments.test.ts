// POST/PATCH/DELETE /assignments: the class's teacher or an admin; validation;
// max_score never below a given score; committed results and their tags.
import t from 'tap'
import { bearer } from './helpers/app.js'
import { recordInvalidations, rejecter, schoolFixture, sender } from './helpers/school.js'
import { addAssignment, addSubmission } from './helpers/world.js'

const { app, db, w } = await schoolFixture(t)
const calls = recordInvalidations(app)

const send = sender(app)

async function snapshot() {
  const assignments = await db.db
    .selectFrom('assignments')
    .select(['id', 'class_id', 'title', 'max_score', 'due_at'])
    .orderBy('id')
    .execute()
  const submissions = await db.db.selectFrom('submissions').select(['id', 'score']).orderBy('id').execute()
  return { assignments, submissions }
}

const rejects = rejecter(calls, snapshot)

const changeTags = (a: number, c: number) =>
  [
    `assignment:${a}`,
    `class:${c}`,
    `class-work:${c}`,
    `school-structure:${w.tenant1}`,
    `school-work:${w.tenant1}`,
  ].sort()
// A new title alone: no score %, on-time or count changes, so no work tags.
const retitleTags = (a: number, c: number) =>
  [`assignment:${a}`, `class:${c}`, `school-structure:${w.tenant1}`].sort()

t.test('POST /assignments', async (t) => {
  calls.length = 0
  const input = { class_id: w.c1, title: 'Limits', max_score: 12.5, due_at: '2026-05-01T12:00:00+02:00' }
  const res = await send(w.teacherA, 'POST', '/assignments', input)
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.same(body, {
    id: body.id,
    class_id: w.c1,
    title: 'Limits',
    max_score: 12.5,
    due_at: '2026-05-01T10:00:00.000Z',
  })
  t.equal(res.headers.location, `/assignments/${body.id}`)
  const row = await db.db
    .selectFrom('assignments')
    .selectAll()
    .where('id', '=', body.id)
    .executeTakeFirstOrThrow()
  t.match(row, { tenant_id: w.tenant1, class_id: w.c1, title: 'Limits' })
  t.equal(Number(row.max_score), 12.5, 'committed')
  t.same(calls, [{ tags: [`class:${w.c1}`, `school-structure:${w.tenant1}`], reason: 'assignment.create' }])
  const readBack = await app.inject({ method: 'GET', url: `/assignments/${body.id}`, headers: bearer(w.s1) })
  t.same(readBack.json(), body, 'a student of the class reads it back')

  t.equal((await send(w.admin, 'POST', '/assignments', { ...input, class_id: w.c2 })).statusCode, 201)

  await rejects(t, 'other teacher', () => send(w.teacherB, 'POST', '/assignments', input), 403)
  for (const user of [w.s1, w.parent, w.tutor]) {
    await rejects(t, user.name, () => send(user, 'POST', '/assignments', input), 403)
  }
  await rejects(
    t,
    'class of another tenant',
    () => send(w.admin2, 'POST', '/assignments', input),
    400,
    'body.class_id does not exist',
  )
  await rejects(
    t,
    'admin naming another tenant class',
    () => send(w.admin, 'POST', '/assignments', { ...input, class_id: w.cx }),
    400,
    'body.class_id does not exist',
  )
  const cases: [string, unknown, string | RegExp][] = [
    ['zero max', { ...input, max_score: 0 }, 'body.max_score must be >= 0.01'],
    ['negative max', { ...input, max_score: -3 }, 'body.max_score must be >= 0.01'],
    ['huge max', { ...input, max_score: 1e9 }, /^body\.max_score must be <=/],
    ['text max', { ...input, max_score: 'ten' }, /^body\.max_score must be number/],
    ['empty title', { ...input, title: '' }, /^body\.title /],
    ['missing due', { class_id: w.c1, title: 'x', max_score: 1 }, 'body.due_at is required'],
    ['bad due', { ...input, due_at: '2026-13-01T00:00:00Z' }, /^body\.due_at must be an RFC 3339 date-time/],
    ['unknown field', { ...input, teacher_id: w.teacherA.id }, 'body.teacher_id is not an allowed field'],
  ]
  for (const [what, payload, message] of cases) {
    await rejects(t, what, () => send(w.teacherA, 'POST', '/assignments', payload), 400, message)
  }
})

t.test('PATCH /assignments/:id', async (t) => {
  const a = await addAssignment(db.db, w.tenant1, w.c1, 10, '2026-06-01T09:00:00Z', 'Vectors')
  const sub = await addSubmission(db.db, w.tenant1, a, w.s1.id, '2026-05-30T09:00:00Z', 8)
  calls.length = 0

  const res = await send(w.teacherA, 'PATCH', `/assignments/${a}`, { title: 'Vectors II' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), {
    id: a,
    class_id: w.c1,
    title: 'Vectors II',
    max_score: 10,
    due_at: '2026-06-01T09:00:00.000Z',
  })
  t.same(calls, [{ tags: retitleTags(a, w.c1), reason: 'assignment.update' }])

  const both = await send(w.admin, 'PATCH', `/assignments/${a}`, {
    max_score: 8,
    due_at: '2026-06-02T09:00:00Z',
  })
  t.equal(both.statusCode, 200, 'max_score equal to the top score is fine')
  t.same(calls[1], { tags: changeTags(a, w.c1), reason: 'assignment.update' }, 'a rescale touches the work')
  const row = await db.db.selectFrom('assignments').selectAll().where('id', '=', a).executeTakeFirstOrThrow()
  t.equal(Number(row.max_score), 8, 'committed')
  t.equal(new Date(row.due_at).toISOString(), '2026-06-02T09:00:00.000Z')
  t.equal(row.title, 'Vectors II', 'untouched fields kept')
  calls.length = 0
  t.equal(
    (await send(w.admin, 'PATCH', `/assignments/${a}`, { due_at: '2026-06-03T09:00:00Z' })).statusCode,
    200,
  )
  t.same(
    calls,
    [{ tags: changeTags(a, w.c1), reason: 'assignment.update' }],
    'a new due date touches the work',
  )
  t.equal(
    (await send(w.admin, 'PATCH', `/assignments/${a}`, { title: 'Vectors III', max_score: 9 })).statusCode,
    200,
  )
  t.same(
    calls[1],
    { tags: changeTags(a, w.c1), reason: 'assignment.update' },
    'title and scale: the work too',
  )

  const below = await send(w.teacherA, 'PATCH', `/assignments/${a}`, { max_score: 7.5 })
  t.equal(below.statusCode, 409, 'below an existing score: conflict with the grades')
  t.equal(below.json().code, 'CONFLICT')
  t.match(below.json().message, /^body\.max_score 7\.5 is below an existing score of 8/)
  t.equal(
    Number(
      (
        await db.db
          .selectFrom('assignments')
          .select('max_score')
          .where('id', '=', a)
          .executeTakeFirstOrThrow()
      ).max_score,
    ),
    9,
  )
  await db.db.updateTable('submissions').set({ score: null, graded_at: null }).where('id', '=', sub).execute()
  t.equal(
    (await send(w.teacherA, 'PATCH', `/assignments/${a}`, { max_score: 5 })).statusCode,
    200,
    'ungraded work does not bind',
  )

  await rejects(t, 'empty body', () => send(w.teacherA, 'PATCH', `/assignments/${a}`, {}), 400, /^body /)
  await rejects(
    t,
    'class_id is not patchable',
    () => send(w.teacherA, 'PATCH', `/assignments/${a}`, { class_id: w.c2 }),
    400,
    'body.class_id is not an allowed field',
  )
  await rejects(
    t,
    'zero max',
    () => send(w.teacherA, 'PATCH', `/assignments/${a}`, { max_score: 0 }),
    400,
    'body.max_score must be >= 0.01',
  )
  await rejects(
    t,
    'bad due',
    () => send(w.teacherA, 'PATCH', `/assignments/${a}`, { due_at: 'soon' }),
    400,
    /^body\.due_at/,
  )
  for (const [user, status] of [
    [w.teacherB, 403],
    [w.s1, 403],
    [w.parent, 403],
    [w.admin2, 404],
  ] as const) {
    await rejects(
      t,
      `${user.name} patches`,
      () => send(user, 'PATCH', `/assignments/${a}`, { title: 'x' }),
      status,
    )
  }
  await rejects(t, 'absent', () => send(w.admin, 'PATCH', '/assignments/777777', { title: 'x' }), 404)
})

t.test('DELETE /assignments/:id removes it and its submissions', async (t) => {
  const a = await addAssignment(db.db, w.tenant1, w.c2, 10, '2026-06-01T09:00:00Z', 'Enzymes')
  const sub = await addSubmission(db.db, w.tenant1, a, w.s3.id, '2026-05-30T09:00:00Z', 4)
  calls.length = 0
  for (const [user, status] of [
    [w.teacherA, 403],
    [w.s3, 403],
    [w.admin2, 404],
  ] as const) {
    await rejects(t, `${user.name} deletes`, () => send(user, 'DELETE', `/assignments/${a}`), status)
  }
  const res = await send(w.teacherB, 'DELETE', `/assignments/${a}`)
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal(
    await db.db.selectFrom('assignments').select('id').where('id', '=', a).executeTakeFirst(),
    undefined,
  )
  t.equal(
    await db.db.selectFrom('submissions').select('id').where('id', '=', sub).executeTakeFirst(),
    undefined,
  )
  // The cascade deletes its submissions: their triggers add their students.
  t.same(calls, [
    { tags: [...changeTags(a, w.c2), `student:${w.s3.id}`].sort(), reason: 'assignment.delete' },
  ])
  await rejects(t, 'twice', () => send(w.teacherB, 'DELETE', `/assignments/${a}`), 404)
})
