// Who may see, list, create, change and delete which report, per role:
// 401 without a token, 404 for another tenant's report, 403 inside the
// tenant; 'personal' results restricted to what the viewer sees.
import t from 'tap'
import type { CustomData } from '../src/reports/custom.js'
import { bearer, buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import { createReport, getReport, reportData } from './helpers/reports.js'
import { addAssignment, addSubmission, buildWorld, type WorldUser } from './helpers/world.js'

t.test('report access', async (t) => {
  const handle = await createTestDatabase(t)
  const db = handle.db
  const app = await buildTestApp(t, handle)
  const w = await buildWorld(db)
  const T = w.tenant1
  // c1 (teacherA): s1, s2; c2 (teacherB): s2, s3; tutor and parent of s1.
  const a1 = await addAssignment(db, T, w.c1, 10, '2024-03-10T00:00:00Z', 'a1')
  const b1 = await addAssignment(db, T, w.c2, 10, '2024-03-10T00:00:00Z', 'b1')
  await addSubmission(db, T, a1, w.s1.id, '2024-03-09T00:00:00Z', 8)
  await addSubmission(db, T, a1, w.s2.id, '2024-03-09T00:00:00Z', 6)
  await addSubmission(db, T, b1, w.s2.id, '2024-03-09T00:00:00Z', 4)
  await addSubmission(db, T, b1, w.s3.id, '2024-03-09T00:00:00Z', 2)

  const R = {
    sp1: await createReport(app, w.admin, 'student_progress', { student_id: w.s1.id }),
    sp3: await createReport(app, w.admin, 'student_progress', { student_id: w.s3.id }),
    gdC1: await createReport(app, w.admin, 'grade_distribution', { class_id: w.c1 }),
    gdB1: await createReport(app, w.admin, 'grade_distribution', { assignment_id: b1 }),
    anAll: await createReport(app, w.admin, 'analytics', {}),
    anC1: await createReport(app, w.admin, 'analytics', { class_ids: [w.c1] }),
    anC12: await createReport(app, w.admin, 'analytics', { class_ids: [w.c1, w.c2] }),
    cuAll: await createReport(app, w.admin, 'custom', { metric: 'avg_score', group_by: 'class' }),
    cuS1: await createReport(app, w.admin, 'custom', {
      metric: 'submission_count',
      group_by: 'class',
      where: { student_id: w.s1.id },
    }),
    cuC2: await createReport(app, w.admin, 'custom', {
      metric: 'avg_score',
      group_by: 'student',
      where: { class_id: w.c2 },
    }),
    cuA1: await createReport(app, w.admin, 'custom', {
      metric: 'avg_score',
      group_by: 'student',
      where: { assignment_id: a1 },
    }),
    other: await createReport(app, w.admin2, 'student_progress', { student_id: w.x1.id }),
  }
  type Key = keyof typeof R
  const all = Object.keys(R) as Key[]

  // What each role may see in tenant 1 (everything else: 403; `other` is tenant 2's: 404).
  const visible: [string, WorldUser, Key[]][] = [
    ['admin', w.admin, all.filter((k) => k !== 'other')],
    ['teacherA', w.teacherA, ['sp1', 'gdC1', 'anAll', 'anC1', 'cuAll', 'cuS1', 'cuA1']],
    ['teacherB', w.teacherB, ['sp3', 'gdB1', 'anAll', 'cuAll', 'cuC2']],
    ['tutor', w.tutor, ['sp1', 'cuS1']],
    ['parent', w.parent, ['sp1', 'cuS1']],
    ['student s1', w.s1, ['sp1', 'cuS1']],
    ['student s3', w.s3, ['sp3']],
  ]

  for (const [role, user, keys] of visible) {
    t.test(`${role}: GET, HEAD and the list`, async (t) => {
      for (const key of all) {
        const expected = key === 'other' ? 404 : keys.includes(key) ? 200 : 403
        const res = await getReport(app, user, R[key])
        t.equal(res.statusCode, expected, `GET ${key}`)
        if (expected === 404) t.equal(res.json().code, 'REPORT_NOT_FOUND')
        if (expected === 403) t.equal(res.json().code, 'FORBIDDEN')
        const head = await app.inject({ method: 'HEAD', url: `/reports/${R[key]}`, headers: bearer(user) })
        t.equal(head.statusCode, expected, `HEAD ${key}`)
        t.equal(head.body, '', 'HEAD has no body')
      }
      const list = await app.inject({ method: 'GET', url: '/reports', headers: bearer(user) })
      t.equal(list.statusCode, 200)
      t.same(
        list.json().items.map((i: { id: number }) => i.id),
        keys.map((k) => R[k]).sort((a, b) => a - b),
        'lists exactly the visible definitions',
      )
    })
  }

  t.test("another tenant's admin sees none of tenant 1's reports", async (t) => {
    for (const key of all) {
      t.equal((await getReport(app, w.admin2, R[key])).statusCode, key === 'other' ? 200 : 404, key)
    }
    const list = await app.inject({ method: 'GET', url: '/reports', headers: bearer(w.admin2) })
    t.same(
      list.json().items.map((i: { id: number }) => i.id),
      [R.other],
    )
  })

  t.test('no token, a bad token: 401 with WWW-Authenticate', async (t) => {
    for (const headers of [{}, { authorization: 'Bearer not-a-jwt' }, { authorization: 'Basic YTpi' }]) {
      for (const url of [`/reports/${R.sp1}`, '/reports']) {
        const res = await app.inject({ method: 'GET', url, headers })
        t.equal(res.statusCode, 401)
        t.equal(res.headers['www-authenticate'], 'Bearer')
      }
    }
    const post = await app.inject({
      method: 'POST',
      url: '/reports',
      payload: { type: 'analytics', title: 'x', params: {} },
    })
    t.equal(post.statusCode, 401)
  })

  t.test('shared results are the same for every allowed viewer', async (t) => {
    const asAdmin = await reportData(app, w.admin, R.gdC1)
    t.same(await reportData(app, w.teacherA, R.gdC1), asAdmin)
    // s2's progress seen by teacherA (its c1 teacher) includes c2, taught by someone else.
    const sp2 = await createReport(app, w.admin, 'student_progress', { student_id: w.s2.id })
    const progress = await reportData<{ classes: { class_id: number }[] }>(app, w.teacherA, sp2)
    t.same(
      progress.classes.map((c) => c.class_id),
      [w.c1, w.c2],
    )
    t.same(await reportData(app, w.parent, R.cuS1), await reportData(app, w.admin, R.cuS1))
  })

  t.test('personal results are restricted to the viewer', async (t) => {
    // Admin: both classes; each teacher: its own. c1: (80 + 60) / 2 = 70; c2: (40 + 20) / 2 = 30.
    t.same((await reportData<CustomData>(app, w.admin, R.cuAll)).rows, [
      { key: w.c1, label: 'Algebra', value: 70 },
      { key: w.c2, label: 'Biology', value: 30 },
    ])
    t.same((await reportData<CustomData>(app, w.teacherA, R.cuAll)).rows, [
      { key: w.c1, label: 'Algebra', value: 70 },
    ])
    t.same((await reportData<CustomData>(app, w.teacherB, R.cuAll)).rows, [
      { key: w.c2, label: 'Biology', value: 30 },
    ])
    // Analytics {} for teacherA equals analytics of its class.
    t.same(await reportData(app, w.teacherA, R.anAll), await reportData(app, w.admin, R.anC1))
  })

  t.test('creating: only reports the caller could see', async (t) => {
    const post = (user: WorldUser, type: string, params: Record<string, unknown>) =>
      app.inject({
        method: 'POST',
        url: '/reports',
        headers: bearer(user),
        payload: { type, title: 'mine', params },
      })
    t.equal((await post(w.teacherA, 'grade_distribution', { class_id: w.c1 })).statusCode, 201)
    t.equal((await post(w.teacherA, 'grade_distribution', { class_id: w.c2 })).statusCode, 403)
    t.equal((await post(w.teacherA, 'grade_distribution', { assignment_id: b1 })).statusCode, 403)
    t.equal((await post(w.teacherA, 'analytics', { class_ids: [w.c1, w.c2] })).statusCode, 403)
    t.equal((await post(w.s1, 'student_progress', { student_id: w.s1.id })).statusCode, 201)
    t.equal((await post(w.s1, 'student_progress', { student_id: w.s2.id })).statusCode, 403)
    t.equal((await post(w.parent, 'analytics', {})).statusCode, 403)
    t.equal((await post(w.tutor, 'custom', { metric: 'avg_score', group_by: 'week' })).statusCode, 403)
    // Another tenant's entity is "does not exist" (400), never a hint that it exists.
    const res = await post(w.admin, 'student_progress', { student_id: w.x1.id })
    t.equal(res.statusCode, 400)
    t.same(res.json().message, 'params.student_id does not exist')
  })

  t.test('changing and deleting: admin, or the creator while it can see the report', async (t) => {
    const patch = (user: WorldUser, id: number) =>
      app.inject({
        method: 'PATCH',
        url: `/reports/${id}`,
        headers: bearer(user),
        payload: { title: 'renamed' },
      })
    const del = (user: WorldUser, id: number) =>
      app.inject({ method: 'DELETE', url: `/reports/${id}`, headers: bearer(user) })

    const mine = await createReport(app, w.teacherA, 'student_progress', { student_id: w.s1.id })
    t.equal((await patch(w.tutor, mine)).statusCode, 403, 'sees it, but did not create it')
    t.equal((await patch(w.teacherB, mine)).statusCode, 403)
    t.equal((await patch(w.admin2, mine)).statusCode, 404)
    t.equal((await del(w.admin2, mine)).statusCode, 404)
    t.equal((await patch(w.teacherA, mine)).statusCode, 200)
    // The creator cannot turn it into a report it could not see.
    const moved = await app.inject({
      method: 'PATCH',
      url: `/reports/${mine}`,
      headers: bearer(w.teacherA),
      payload: { params: { student_id: w.s3.id } },
    })
    t.equal(moved.statusCode, 403)

    // Access changes apply on the next request: s1 leaves c1, teacherA loses s1.
    const unenroll = await app.inject({
      method: 'DELETE',
      url: `/enrollments/${w.c1}/${w.s1.id}`,
      headers: bearer(w.admin),
    })
    t.equal(unenroll.statusCode, 204)
    t.equal((await getReport(app, w.teacherA, mine)).statusCode, 403)
    t.equal((await patch(w.teacherA, mine)).statusCode, 403, 'creator that can no longer see it')
    t.equal((await del(w.teacherA, mine)).statusCode, 403)
    const reenroll = await app.inject({
      method: 'POST',
      url: '/enrollments',
      headers: bearer(w.admin),
      payload: { class_id: w.c1, student_id: w.s1.id },
    })
    t.equal(reenroll.statusCode, 201)
    t.equal((await getReport(app, w.teacherA, mine)).statusCode, 200)

    t.equal((await del(w.s1, mine)).statusCode, 403)
    t.equal((await del(w.admin, mine)).statusCode, 204, "an admin may delete anyone's report")
    t.equal((await getReport(app, w.teacherA, mine)).statusCode, 404)
    t.equal((await patch(w.admin, R.anC12)).statusCode, 200)
  })
})
