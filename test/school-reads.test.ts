// The school-data read routes: shapes, access per role, tenant isolation,
// authentication and query validation.
import t, { type Test } from 'tap'
import { mintToken } from '../src/auth/token.js'
import { bearer, TEST_JWT_SECRET } from './helpers/app.js'
import { schoolFixture } from './helpers/school.js'
import type { WorldUser } from './helpers/world.js'
import { addAssignment, addSubmission } from './helpers/world.js'

const { app, db, w, m1 } = await schoolFixture(t)
const a1 = await addAssignment(db.db, w.tenant1, w.c1, 10, '2026-03-01T09:00:00Z', 'Quadratics')
const a2 = await addAssignment(db.db, w.tenant1, w.c2, 20, '2026-03-02T09:00:00Z', 'Mitosis')
const ax = await addAssignment(db.db, w.tenant2, w.cx, 5, '2026-03-03T09:00:00Z', 'Bonds')
const sub1 = await addSubmission(db.db, w.tenant1, a1, w.s1.id, '2026-02-28T10:00:00Z', 7.5)
const sub2c2 = await addSubmission(db.db, w.tenant1, a2, w.s2.id, '2026-02-28T11:00:00Z', null)
const subx = await addSubmission(db.db, w.tenant2, ax, w.x1.id, '2026-02-28T12:00:00Z', 4)

async function get(user: WorldUser | null, url: string) {
  return app.inject({ method: 'GET', url, headers: user ? bearer(user) : {} })
}

/** Asserts the status each user gets for a URL. */
async function expectStatuses(t: Test, url: string, cases: [WorldUser, number][]) {
  for (const [user, status] of cases) {
    const res = await get(user, url)
    t.equal(res.statusCode, status, `${user.name} GET ${url} → ${status}`)
    if (status >= 400) t.equal(res.json().statusCode, status)
  }
}

t.test('authentication: 401 with WWW-Authenticate: Bearer (RFC 6750 §3)', async (t) => {
  const expired = mintToken(TEST_JWT_SECRET, { sub: w.s1.id, tid: w.tenant1, role: 'student' }, -60)
  const forged = mintToken('another-secret-of-enough-length', {
    sub: w.s1.id,
    tid: w.tenant1,
    role: 'student',
  })
  const attempts: [string, Record<string, string>][] = [
    ['no header', {}],
    ['not a bearer', { authorization: 'Basic abc' }],
    ['garbage', { authorization: 'Bearer not.a.jwt' }],
    ['expired', { authorization: `Bearer ${expired}` }],
    ['wrong secret', { authorization: `Bearer ${forged}` }],
  ]
  for (const url of ['/me', '/users', '/users/1', '/classes', `/classes/${w.c1}`, `/assignments/${a1}`]) {
    for (const [what, headers] of attempts) {
      const res = await app.inject({ method: 'GET', url, headers })
      t.equal(res.statusCode, 401, `${url} ${what}`)
      t.equal(res.headers['www-authenticate'], 'Bearer', `${url} ${what} challenge`)
      t.equal(res.json().code, 'UNAUTHORIZED')
    }
  }
  const mutation = await app.inject({
    method: 'PATCH',
    url: `/submissions/${sub1}`,
    payload: { score: 1 },
    headers: { authorization: `Bearer ${expired}` },
  })
  t.equal(mutation.statusCode, 401)
  const row = await db.db
    .selectFrom('submissions')
    .select('score')
    .where('id', '=', sub1)
    .executeTakeFirstOrThrow()
  t.equal(Number(row.score), 7.5, 'an unauthenticated mutation changed nothing')
})

t.test('GET /me', async (t) => {
  for (const user of [w.admin, w.teacherA, w.s1, w.admin2]) {
    const res = await get(user, '/me')
    t.equal(res.statusCode, 200)
    t.same(res.json(), {
      id: user.id,
      tenant_id: user.tenant_id,
      role: user.role,
      name: user.name,
      email: user.email,
    })
  }
  const gone = await db.db
    .insertInto('users')
    .values({ tenant_id: w.tenant1, role: 'student', email: 'gone@demo.test', name: 'gone' })
    .returning(['id', 'tenant_id', 'role', 'email', 'name'])
    .executeTakeFirstOrThrow()
  t.equal((await get(gone, '/me')).statusCode, 200)
  await db.db.deleteFrom('users').where('id', '=', gone.id).execute()
  const res = await get(gone, '/me')
  t.equal(res.statusCode, 401, 'a deleted user is no longer authenticated')
  t.equal(res.headers['www-authenticate'], 'Bearer')
  // A token whose tenant does not match the user's row names no existing user either.
  const res2 = await get({ ...w.s1, tenant_id: w.tenant2 }, '/me')
  t.equal(res2.statusCode, 401)
})

t.test('GET /users: admin only, tenant-scoped, keyset pages', async (t) => {
  const tenant1 = [w.admin, w.teacherA, w.teacherB, w.tutor, w.parent, w.s1, w.s2, w.s3]
  const res = await get(w.admin, '/users')
  t.equal(res.statusCode, 200)
  t.same(res.json(), {
    items: tenant1.map((u) => ({ id: u.id, name: u.name, email: u.email, role: u.role })),
    next_cursor: null,
  })

  const students = (await get(w.admin, '/users?role=student')).json()
  t.same(
    students.items.map((u: { id: number }) => u.id),
    [w.s1.id, w.s2.id, w.s3.id],
  )

  const seen: number[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const page: { statusCode: number; json(): { items: { id: number }[]; next_cursor: string | null } } =
      await get(w.admin, `/users?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
    t.equal(page.statusCode, 200)
    const body = page.json()
    t.ok(body.items.length <= 3)
    seen.push(...body.items.map((u) => u.id))
    cursor = body.next_cursor
    pages++
  } while (cursor !== null && pages < 10)
  t.equal(pages, 3, '8 users in pages of 3')
  t.same(
    seen,
    tenant1.map((u) => u.id),
  )

  const other = (await get(w.admin2, '/users')).json()
  t.same(
    other.items.map((u: { id: number }) => u.id),
    [w.admin2.id, w.teacher2.id, w.x1.id],
    "another tenant's admin sees only its tenant",
  )
  t.same((await get(w.admin, '/users?cursor=99999999999')).json(), { items: [], next_cursor: null })

  await expectStatuses(t, '/users', [
    [w.teacherA, 403],
    [w.tutor, 403],
    [w.parent, 403],
    [w.s1, 403],
  ])
})

t.test('GET /users: query validation names the parameter', async (t) => {
  const cases: [string, string][] = [
    ['/users?foo=1', 'querystring.foo is not an allowed query parameter'],
    ['/users?role=janitor', 'querystring.role'],
    ['/users?limit=0', 'querystring.limit'],
    ['/users?limit=1000', 'querystring.limit'],
    ['/users?limit=abc', 'querystring.limit'],
    ['/users?cursor=-3', 'querystring.cursor'],
  ]
  for (const [url, message] of cases) {
    const res = await get(w.admin, url)
    t.equal(res.statusCode, 400, url)
    t.equal(res.json().code, 'FST_ERR_VALIDATION')
    t.match(res.json().message, message, url)
  }
})

t.test('GET /users/:id: links and visibility', async (t) => {
  const detail = async (viewer: WorldUser, user: WorldUser) => (await get(viewer, `/users/${user.id}`)).json()
  const base = (u: WorldUser) => ({ id: u.id, name: u.name, email: u.email, role: u.role })
  t.same(await detail(w.admin, w.teacherA), {
    ...base(w.teacherA),
    classes: [w.c1],
    children: [],
    tutees: [],
  })
  t.same(await detail(w.admin, w.s2), { ...base(w.s2), classes: [w.c1, w.c2], children: [], tutees: [] })
  t.same(await detail(w.admin, w.parent), { ...base(w.parent), classes: [], children: [w.s1.id], tutees: [] })
  t.same(await detail(w.admin, w.tutor), { ...base(w.tutor), classes: [], children: [], tutees: [w.s1.id] })
  t.same(await detail(w.admin, w.admin), { ...base(w.admin), classes: [], children: [], tutees: [] })

  await expectStatuses(t, `/users/${w.s1.id}`, [
    [w.admin, 200],
    [w.s1, 200],
    [w.parent, 200],
    [w.tutor, 200],
    [w.teacherA, 200],
    [w.teacherB, 403],
    [w.s2, 403],
    [w.admin2, 404],
    [w.teacher2, 404],
  ])
  await expectStatuses(t, `/users/${w.s3.id}`, [
    [w.teacherB, 200],
    [w.teacherA, 403],
    [w.parent, 403],
    [w.tutor, 403],
  ])
  await expectStatuses(t, `/users/${w.teacherA.id}`, [
    [w.teacherA, 200],
    [w.teacherB, 403],
    [w.s1, 403],
  ])
  await expectStatuses(t, `/users/${w.parent.id}`, [
    [w.parent, 200],
    [w.s1, 403],
  ])
  await expectStatuses(t, '/users/999999', [[w.admin, 404]])
  for (const bad of ['abc', '0', '-1', '99999999999', '1.5']) {
    const res = await get(w.admin, `/users/${bad}`)
    t.equal(res.statusCode, 400, `/users/${bad}`)
    t.match(res.json().message, /^params\.id /)
  }
})

t.test('GET /classes: the classes each caller may read', async (t) => {
  const ids = async (user: WorldUser) =>
    (await get(user, '/classes')).json().items.map((c: { id: number }) => c.id)
  t.same((await get(w.admin, '/classes')).json(), {
    items: [
      { id: w.c1, name: 'Algebra', teacher_id: w.teacherA.id, student_count: 2 },
      { id: w.c2, name: 'Biology', teacher_id: w.teacherB.id, student_count: 2 },
    ],
  })
  t.same(await ids(w.teacherA), [w.c1])
  t.same(await ids(w.teacherB), [w.c2])
  t.same(await ids(w.s1), [w.c1])
  t.same(await ids(w.s2), [w.c1, w.c2])
  t.same(await ids(w.parent), [w.c1])
  t.same(await ids(w.tutor), [w.c1])
  t.same(await ids(w.admin2), [w.cx])
  t.same(await ids(w.x1), [w.cx])
  const unknown = await get(w.admin, '/classes?page=2')
  t.equal(unknown.statusCode, 400)
  t.equal(unknown.json().message, 'querystring.page is not an allowed query parameter')
})

t.test('GET /classes/:id: roster, assignments, materials', async (t) => {
  const res = await get(w.teacherA, `/classes/${w.c1}`)
  t.equal(res.statusCode, 200)
  t.same(res.json(), {
    id: w.c1,
    name: 'Algebra',
    teacher_id: w.teacherA.id,
    students: [
      { id: w.s1.id, name: 's1' },
      { id: w.s2.id, name: 's2' },
    ],
    assignments: [{ id: a1, title: 'Quadratics', max_score: 10, due_at: '2026-03-01T09:00:00.000Z' }],
    materials: [{ id: m1, title: 'Fractions' }],
  })
  await expectStatuses(t, `/classes/${w.c1}`, [
    [w.admin, 200],
    [w.s1, 200],
    [w.s2, 200],
    [w.parent, 200],
    [w.tutor, 200],
    [w.teacherB, 403],
    [w.s3, 403],
    [w.admin2, 404],
    [w.x1, 404],
  ])
  await expectStatuses(t, `/classes/${w.cx}`, [
    [w.admin, 404],
    [w.teacher2, 200],
  ])
  await expectStatuses(t, '/classes/424242', [[w.admin, 404]])
})

t.test('GET /assignments/:id', async (t) => {
  const res = await get(w.s1, `/assignments/${a1}`)
  t.equal(res.statusCode, 200)
  t.same(res.json(), {
    id: a1,
    class_id: w.c1,
    title: 'Quadratics',
    max_score: 10,
    due_at: '2026-03-01T09:00:00.000Z',
  })
  await expectStatuses(t, `/assignments/${a1}`, [
    [w.admin, 200],
    [w.teacherA, 200],
    [w.parent, 200],
    [w.tutor, 200],
    [w.teacherB, 403],
    [w.s3, 403],
    [w.admin2, 404],
  ])
  await expectStatuses(t, `/assignments/${ax}`, [
    [w.admin, 404],
    [w.x1, 200],
  ])
})

t.test('GET /submissions/:id', async (t) => {
  const res = await get(w.s1, `/submissions/${sub1}`)
  t.equal(res.statusCode, 200)
  t.same(res.json(), {
    id: sub1,
    assignment_id: a1,
    student_id: w.s1.id,
    submitted_at: '2026-02-28T10:00:00.000Z',
    score: 7.5,
    graded_at: '2026-02-28T10:00:00.000Z',
  })
  t.same((await get(w.admin, `/submissions/${sub2c2}`)).json().score, null, 'ungraded: null score')
  t.same((await get(w.admin, `/submissions/${sub2c2}`)).json().graded_at, null)
  await expectStatuses(t, `/submissions/${sub1}`, [
    [w.admin, 200],
    [w.teacherA, 200],
    [w.parent, 200],
    [w.tutor, 200],
    [w.s2, 403],
    [w.teacherB, 403],
    [w.admin2, 404],
  ])
  // s2 is teacher A's student, but this submission belongs to teacher B's class.
  await expectStatuses(t, `/submissions/${sub2c2}`, [
    [w.teacherB, 200],
    [w.s2, 200],
    [w.teacherA, 403],
    [w.parent, 403],
  ])
  await expectStatuses(t, `/submissions/${subx}`, [
    [w.admin, 404],
    [w.teacher2, 200],
  ])
})

t.test('the routes appear in the OpenAPI document', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(res.statusCode, 200)
  const paths = Object.keys(res.json().paths)
  for (const p of [
    '/me',
    '/users',
    '/users/{id}',
    '/classes',
    '/classes/{id}',
    '/assignments',
    '/assignments/{id}',
    '/submissions',
    '/submissions/{id}',
    '/material-progress',
    '/enrollments',
    '/enrollments/{class_id}/{student_id}',
  ]) {
    t.ok(paths.includes(p), p)
  }
})
