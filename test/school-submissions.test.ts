// POST/PATCH/DELETE /submissions: permissions, validation, tenant rules,
// committed results, and the tags invalidated after the commit.
import { sql } from 'kysely'
import t from 'tap'
import { recordInvalidations, rejecter, schoolFixture, sender } from './helpers/school.js'
import { addAssignment, addSubmission } from './helpers/world.js'

const { app, db, w } = await schoolFixture(t)
const a1 = await addAssignment(db.db, w.tenant1, w.c1, 10, '2026-03-01T09:00:00Z', 'Quadratics')
const ax = await addAssignment(db.db, w.tenant2, w.cx, 5, '2026-03-03T09:00:00Z', 'Bonds')
const calls = recordInvalidations(app)

const send = sender(app)

async function snapshot() {
  return db.db
    .selectFrom('submissions')
    .select(['id', 'assignment_id', 'student_id', 'submitted_at', 'score', 'graded_at'])
    .orderBy('id')
    .execute()
}

const rejects = rejecter(calls, snapshot)

const tags = (studentId: number, classId: number, assignmentId: number, tenantId = w.tenant1) =>
  [
    `student:${studentId}`,
    `class-work:${classId}`,
    `assignment:${assignmentId}`,
    `school-work:${tenantId}`,
  ].sort()

t.test('POST /submissions: a student submits its own work', async (t) => {
  calls.length = 0
  const res = await send(w.s1, 'POST', '/submissions', { assignment_id: a1, student_id: w.s1.id })
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.equal(res.headers.location, `/submissions/${body.id}`)
  t.same(Object.keys(body).sort(), [
    'assignment_id',
    'graded_at',
    'id',
    'score',
    'student_id',
    'submitted_at',
  ])
  t.match(body, { assignment_id: a1, student_id: w.s1.id, score: null, graded_at: null })
  const row = await db.db
    .selectFrom('submissions')
    .selectAll()
    .where('id', '=', body.id)
    .executeTakeFirstOrThrow()
  t.equal(row.tenant_id, w.tenant1, 'committed in the tenant')
  t.equal(new Date(row.submitted_at).toISOString(), body.submitted_at, 'submitted_at defaults to now()')
  t.same(calls, [{ tags: tags(w.s1.id, w.c1, a1), reason: 'submission.create' }])

  const again = await send(w.admin, 'POST', '/submissions', { assignment_id: a1, student_id: w.s1.id })
  t.equal(again.statusCode, 409)
  t.equal(again.json().code, 'CONFLICT')
  t.equal(calls.length, 1, 'a rejected duplicate invalidates nothing')
})

t.test('POST /submissions: who may create for whom', async (t) => {
  const a2 = await addAssignment(db.db, w.tenant1, w.c2, 20, '2026-03-02T09:00:00Z', 'Mitosis')
  const res = await send(w.teacherA, 'POST', '/submissions', {
    assignment_id: a1,
    student_id: w.s2.id,
    submitted_at: '2026-01-05T10:00:00+02:00',
  })
  t.equal(res.statusCode, 201, "a teacher submits for its class's student")
  t.equal(res.json().submitted_at, '2026-01-05T08:00:00.000Z', 'offsets are honoured, answered in UTC')
  const admin = await send(w.admin, 'POST', '/submissions', { assignment_id: a2, student_id: w.s3.id })
  t.equal(admin.statusCode, 201, 'an admin submits for anyone')

  const body = (studentId: number, assignmentId = a2) => ({
    assignment_id: assignmentId,
    student_id: studentId,
  })
  await rejects(t, 'student for another', () => send(w.s2, 'POST', '/submissions', body(w.s3.id)), 403)
  await rejects(t, 'parent', () => send(w.parent, 'POST', '/submissions', body(w.s2.id)), 403)
  await rejects(t, 'tutor', () => send(w.tutor, 'POST', '/submissions', body(w.s2.id)), 403)
  await rejects(t, 'other teacher', () => send(w.teacherA, 'POST', '/submissions', body(w.s2.id)), 403)
  await rejects(
    t,
    'student not in the class',
    () => send(w.s1, 'POST', '/submissions', body(w.s1.id)),
    400,
    "body.student_id is not enrolled in the assignment's class",
  )
  await rejects(
    t,
    "another tenant's assignment",
    () => send(w.admin, 'POST', '/submissions', body(w.s2.id, ax)),
    400,
    'body.assignment_id does not exist',
  )
  await rejects(
    t,
    'assignment from the caller of another tenant',
    () => send(w.admin2, 'POST', '/submissions', body(w.x1.id, a2)),
    400,
    'body.assignment_id does not exist',
  )
  await rejects(
    t,
    "another tenant's student",
    () => send(w.admin, 'POST', '/submissions', body(w.x1.id)),
    400,
    'body.student_id does not exist',
  )
  await rejects(
    t,
    'a teacher as student',
    () => send(w.admin, 'POST', '/submissions', body(w.teacherB.id)),
    400,
    'body.student_id is not a student',
  )
})

t.test('POST /submissions: validation names the field', async (t) => {
  const ok = { assignment_id: a1, student_id: w.s2.id }
  const cases: [string, unknown, string | RegExp][] = [
    ['unknown field', { ...ok, score: 3 }, 'body.score is not an allowed field'],
    ['missing assignment', { student_id: w.s2.id }, 'body.assignment_id is required'],
    ['zero id', { ...ok, assignment_id: 0 }, /^body\.assignment_id must be >= 1/],
    ['text id', { ...ok, student_id: 'abc' }, /^body\.student_id must be integer/],
    ['fractional id', { ...ok, student_id: 1.5 }, /^body\.student_id must be integer/],
    ['huge id', { ...ok, student_id: 1e12 }, /^body\.student_id must be <=/],
    ['not a date', { ...ok, submitted_at: 'yesterday' }, /^body\.submitted_at must be an RFC 3339 date-time/],
    ['no time zone', { ...ok, submitted_at: '2026-01-05T10:00:00' }, /^body\.submitted_at /],
    ['impossible date', { ...ok, submitted_at: '2026-02-30T10:00:00Z' }, /^body\.submitted_at /],
    ['date only', { ...ok, submitted_at: '2026-01-05' }, /^body\.submitted_at /],
  ]
  for (const [what, payload, message] of cases) {
    await rejects(t, what, () => send(w.admin, 'POST', '/submissions', payload), 400, message)
  }
  await rejects(t, 'no body', () => send(w.admin, 'POST', '/submissions'), 400)
  await rejects(
    t,
    'unknown query parameter',
    () => send(w.admin, 'POST', '/submissions?dry_run=1', ok),
    400,
    'querystring.dry_run is not an allowed query parameter',
  )
})

t.test('PATCH /submissions/:id: grading', async (t) => {
  const a = await addAssignment(db.db, w.tenant1, w.c1, 10, '2026-04-01T09:00:00Z', 'Graded')
  const id = await addSubmission(db.db, w.tenant1, a, w.s2.id, '2026-02-28T10:00:00Z', null)
  const read = () =>
    db.db
      .selectFrom('submissions')
      .select(['score', 'graded_at'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
  calls.length = 0

  const graded = await send(w.teacherA, 'PATCH', `/submissions/${id}`, { score: 8.5 })
  t.equal(graded.statusCode, 200)
  t.match(graded.json(), { id, assignment_id: a, student_id: w.s2.id, score: 8.5 })
  t.match(graded.json().graded_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  let row = await read()
  t.equal(Number(row.score), 8.5, 'committed')
  t.not(row.graded_at, null)
  t.same(calls, [{ tags: tags(w.s2.id, w.c1, a), reason: 'submission.grade' }])

  const zero = await send(w.admin, 'PATCH', `/submissions/${id}`, { score: 0 })
  t.equal(zero.json().score, 0, 'zero is a grade, not coerced to null')
  t.equal(Number((await read()).score), 0)
  t.equal(
    (await send(w.admin, 'PATCH', `/submissions/${id}`, { score: 10 })).json().score,
    10,
    'max is allowed',
  )

  const ungraded = await send(w.teacherA, 'PATCH', `/submissions/${id}`, { score: null })
  t.equal(ungraded.statusCode, 200)
  t.match(ungraded.json(), { score: null, graded_at: null })
  row = await read()
  t.same(row, { score: null, graded_at: null }, 'ungraded in the database')
  t.equal(calls.length, 4)

  await rejects(
    t,
    'above max',
    () => send(w.teacherA, 'PATCH', `/submissions/${id}`, { score: 10.01 }),
    400,
    'body.score must be <= 10',
  )
  await rejects(
    t,
    'negative',
    () => send(w.teacherA, 'PATCH', `/submissions/${id}`, { score: -1 }),
    400,
    'body.score must be >= 0',
  )
  await rejects(
    t,
    'text',
    () => send(w.teacherA, 'PATCH', `/submissions/${id}`, { score: 'ten' }),
    400,
    /^body\.score must be/,
  )
  await rejects(
    t,
    'missing',
    () => send(w.teacherA, 'PATCH', `/submissions/${id}`, {}),
    400,
    'body.score is required',
  )
  await rejects(
    t,
    'extra field',
    () => send(w.teacherA, 'PATCH', `/submissions/${id}`, { score: 1, graded_at: null }),
    400,
    'body.graded_at is not an allowed field',
  )
  await rejects(
    t,
    'bad id',
    () => send(w.teacherA, 'PATCH', '/submissions/x', { score: 1 }),
    400,
    /^params\.id/,
  )

  for (const [user, status] of [
    [w.teacherB, 403],
    [w.s2, 403],
    [w.parent, 403],
    [w.tutor, 403],
    [w.admin2, 404],
    [w.teacher2, 404],
  ] as const) {
    await rejects(
      t,
      `${user.name} grades`,
      () => send(user, 'PATCH', `/submissions/${id}`, { score: 5 }),
      status,
    )
  }
  await rejects(t, 'absent', () => send(w.admin, 'PATCH', '/submissions/987654', { score: 5 }), 404)
})

t.test('DELETE /submissions/:id', async (t) => {
  const a = await addAssignment(db.db, w.tenant1, w.c1, 10, '2026-04-02T09:00:00Z', 'Deleted')
  const id = await addSubmission(db.db, w.tenant1, a, w.s2.id, '2026-02-28T10:00:00Z', 3)
  calls.length = 0
  for (const [user, status] of [
    [w.teacherB, 403],
    [w.s2, 403],
    [w.parent, 403],
    [w.admin2, 404],
  ] as const) {
    await rejects(t, `${user.name} deletes`, () => send(user, 'DELETE', `/submissions/${id}`), status)
  }
  const res = await send(w.teacherA, 'DELETE', `/submissions/${id}`)
  t.equal(res.statusCode, 204)
  t.equal(res.body, '', '204 has no body')
  const gone = await db.db.selectFrom('submissions').select('id').where('id', '=', id).executeTakeFirst()
  t.equal(gone, undefined, 'deleted in the database')
  t.same(calls, [{ tags: tags(w.s2.id, w.c1, a), reason: 'submission.delete' }])
  await rejects(t, 'deleted twice', () => send(w.teacherA, 'DELETE', `/submissions/${id}`), 404)
})

t.test('invalidation runs after the commit and before the reply', async (t) => {
  const a = await addAssignment(db.db, w.tenant1, w.c1, 10, '2026-04-03T09:00:00Z', 'Gated')
  // Holds the delivery of the transaction's log records to the store.
  const store = app.reportCache.store
  const inner = store.apply.bind(store)
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let entered!: (tags: readonly string[]) => void
  const inside = new Promise<readonly string[]>((resolve) => {
    entered = resolve
  })
  // Every delivery of these records waits: the mutation's own, and the relay's if it sees them first.
  store.apply = async (tenantId, records) => {
    const tags = records.map((r) => r.tag)
    if (tags.includes(`assignment:${a}`) && tags.includes(`student:${w.s2.id}`)) {
      entered(tags)
      await gate
    }
    return inner(tenantId, records)
  }
  t.teardown(() => {
    store.apply = inner
  })
  let replied = false
  const pending = send(w.s2, 'POST', '/submissions', { assignment_id: a, student_id: w.s2.id }).then(
    (res) => {
      replied = true
      return res
    },
  )
  const touched = await inside
  t.same([...touched].sort(), tags(w.s2.id, w.c1, a))
  // Read through the app's own pool: only committed rows are visible to another connection.
  const row = await app.db
    .selectFrom('submissions')
    .select('id')
    .where('assignment_id', '=', a)
    .where('student_id', '=', w.s2.id)
    .executeTakeFirst()
  t.ok(row, 'the submission is committed when its records are delivered')
  t.equal(replied, false, 'no reply before invalidation finished')
  release()
  const res = await pending
  t.equal(res.statusCode, 201)
  t.equal(res.json().id, row?.id)
})

t.test(
  "a change's records reach the store once: the relay moves over the change's own delivery",
  async (t) => {
    const a = await addAssignment(db.db, w.tenant1, w.c1, 10, '2026-04-05T09:00:00Z', 'Once')
    const id = await addSubmission(db.db, w.tenant1, a, w.s1.id, '2026-02-28T10:00:00Z', null)
    await app.invalidation.relay.drain() // the setup's own records, out of the way
    const store = app.reportCache.store
    const inner = store.apply.bind(store)
    const applied: number[][] = []
    store.apply = async (tenantId, records) => {
      if (records.some((r) => r.tag === `assignment:${a}`)) applied.push(records.map((r) => r.seq))
      return inner(tenantId, records)
    }
    t.teardown(() => {
      store.apply = inner
    })
    const res = await send(w.teacherA, 'PATCH', `/submissions/${id}`, { score: 7 })
    t.equal(res.statusCode, 200)
    const { rows } = await sql<{ top: string }>`select max(seq)::text as top from invalidation_log`.execute(
      db.db,
    )
    const top = rows[0].top
    // The change's NOTIFY wakes the relay; drain until its progress covers the records (deadline: 5 s).
    const deadline = Date.now() + 5000
    while (app.invalidation.relay.progress < Number(top) && Date.now() < deadline) {
      await app.invalidation.relay.drain()
      await new Promise((resolve) => setImmediate(resolve))
    }
    t.ok(app.invalidation.relay.progress >= Number(top), 'the relay delivered past the change')
    t.equal(applied.length, 1, 'one delivery: the mutation made it, the relay did not repeat it')
  },
)

t.test('concurrent duplicates: one 201, one 409, one row', async (t) => {
  const a = await addAssignment(db.db, w.tenant1, w.c1, 10, '2026-04-04T09:00:00Z', 'Raced')
  const payload = { assignment_id: a, student_id: w.s1.id }
  const results = await Promise.all([
    send(w.s1, 'POST', '/submissions', payload),
    send(w.teacherA, 'POST', '/submissions', payload),
  ])
  t.same(results.map((r) => r.statusCode).sort(), [201, 409])
  const rows = await db.db.selectFrom('submissions').select('id').where('assignment_id', '=', a).execute()
  t.equal(rows.length, 1)
})
