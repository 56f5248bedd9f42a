// custom report rows to the digit, for each metric and grouping, with where
// and filters; expected figures worked out by hand in the comments.
import t from 'tap'
import type { CustomData, CustomRow } from '../src/reports/custom.js'
import { bearer, buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import {
  addClass,
  addMaterial,
  addTenant,
  addUser,
  createReport,
  enroll,
  reportData,
  setProgress,
} from './helpers/reports.js'
import { addAssignment, addSubmission } from './helpers/world.js'

const row = (key: number | string, label: string, value: number | null): CustomRow => ({ key, label, value })

t.test('custom', async (t) => {
  const handle = await createTestDatabase(t)
  const db = handle.db
  const app = await buildTestApp(t, handle)

  // Class P (v1…v4) with p1 (max 10, due 2024-03-11) and p2 (max 4, due 2024-04-30);
  // class Q (v5) with q1 and no submissions.
  const T = await addTenant(db, 'Custom')
  const admin = await addUser(db, T, 'admin', 'custom-admin')
  const teacherP = await addUser(db, T, 'teacher', 'custom-teacher-p')
  const P = await addClass(db, T, 'P', teacherP.id)
  const Q = await addClass(db, T, 'Q')
  const names = ['v1', 'v2', 'v3', 'v4', 'v5']
  const students = []
  // One at a time, so ids follow the names (rows are ordered by key).
  for (const n of names) students.push(await addUser(db, T, 'student', `custom-${n}`))
  const [v1, v2, v3, v4, v5] = students
  for (const s of [v1, v2, v3, v4]) await enroll(db, T, P, s.id)
  await enroll(db, T, Q, v5.id)
  const p1 = await addAssignment(db, T, P, 10, '2024-03-11T00:00:00Z', 'p1')
  const p2 = await addAssignment(db, T, P, 4, '2024-04-30T00:00:00Z', 'p2')
  const q1 = await addAssignment(db, T, Q, 10, '2024-04-30T00:00:00Z', 'q1')
  await addSubmission(db, T, p1, v4.id, '2024-02-29T23:59:59Z', 2) // 20 %, on time
  await addSubmission(db, T, p1, v1.id, '2024-03-10T23:30:00Z', 5) // 50 %, on time
  await addSubmission(db, T, p1, v2.id, '2024-03-11T00:30:00Z', 10) // 100 %, late
  await addSubmission(db, T, p1, v3.id, '2024-03-11T08:00:00Z', null) // late
  await addSubmission(db, T, p2, v4.id, '2024-03-12T00:00:00Z', 3) // 75 %, on time
  await addSubmission(db, T, p2, v2.id, '2024-03-31T23:59:59Z', 3) // 75 %, on time
  await addSubmission(db, T, p2, v1.id, '2024-04-01T00:00:00Z', 1) // 25 %, on time
  await addSubmission(db, T, p2, v3.id, '2024-05-02T00:00:00Z', null) // late
  // Materials: P has mP1, mP2; Q has mQ1.
  const mP1 = await addMaterial(db, T, P, 'mP1')
  const mP2 = await addMaterial(db, T, P, 'mP2')
  const mQ1 = await addMaterial(db, T, Q, 'mQ1')
  await setProgress(db, T, mP1, v1.id, 100)
  await setProgress(db, T, mP2, v1.id, 50)
  await setProgress(db, T, mP1, v2.id, 20)
  await setProgress(db, T, mP2, v4.id, 0.01)
  await setProgress(db, T, mQ1, v5.id, 40)

  const rows = async (params: Record<string, unknown>, query = '', caller = admin) => {
    const id = await createReport(app, admin, 'custom', params)
    return (await reportData<CustomData>(app, caller, id, query)).rows
  }

  t.test('group by class', async (t) => {
    // P graded: 20, 50, 100, 75, 75, 25 → 345 / 6 = 57.5; Q has no submissions: null.
    t.same(await rows({ metric: 'avg_score', group_by: 'class' }), [row(P, 'P', 57.5), row(Q, 'Q', null)])
    // A count of nothing is 0.
    t.same(await rows({ metric: 'submission_count', group_by: 'class' }), [row(P, 'P', 8), row(Q, 'Q', 0)])
    // On time: 02-29, 03-10, 03-12, 03-31, 04-01 = 5 of 8 = 62.5
    t.same(await rows({ metric: 'on_time_rate', group_by: 'class' }), [row(P, 'P', 62.5), row(Q, 'Q', null)])
    // P: 4 students × 2 materials = 8 pairs: 100 + 50 + 20 + 0.01 (others 0) = 170.01 / 8 = 21.25125 → 21.25
    // Q: v5 × mQ1 = 40
    t.same(await rows({ metric: 'completion', group_by: 'class' }), [row(P, 'P', 21.25), row(Q, 'Q', 40)])
  })

  t.test('group by assignment', async (t) => {
    // p1: (20 + 50 + 100) / 3 = 56.666… → 56.67; p2: (75 + 75 + 25) / 3 = 58.333… → 58.33; q1: null
    t.same(await rows({ metric: 'avg_score', group_by: 'assignment' }), [
      row(p1, 'p1', 56.67),
      row(p2, 'p2', 58.33),
      row(q1, 'q1', null),
    ])
    // p1: on time 02-29, 03-10 of 4 = 50; p2: 03-12, 03-31, 04-01 of 4 = 75
    t.same(await rows({ metric: 'on_time_rate', group_by: 'assignment' }), [
      row(p1, 'p1', 50),
      row(p2, 'p2', 75),
      row(q1, 'q1', null),
    ])
  })

  t.test('group by student', async (t) => {
    t.same(await rows({ metric: 'submission_count', group_by: 'student' }), [
      row(v1.id, 'custom-v1', 2),
      row(v2.id, 'custom-v2', 2),
      row(v3.id, 'custom-v3', 2),
      row(v4.id, 'custom-v4', 2),
      row(v5.id, 'custom-v5', 0),
    ])
    // v1 both on time; v2 one of two; v3 none; v4 both; v5 nothing: null
    t.same(await rows({ metric: 'on_time_rate', group_by: 'student' }), [
      row(v1.id, 'custom-v1', 100),
      row(v2.id, 'custom-v2', 50),
      row(v3.id, 'custom-v3', 0),
      row(v4.id, 'custom-v4', 100),
      row(v5.id, 'custom-v5', null),
    ])
    // v1 (100 + 50) / 2 = 75; v2 (20 + 0) / 2 = 10; v3 0; v4 (0 + 0.01) / 2 = 0.005 → 0.01; v5 40
    t.same(await rows({ metric: 'completion', group_by: 'student' }), [
      row(v1.id, 'custom-v1', 75),
      row(v2.id, 'custom-v2', 10),
      row(v3.id, 'custom-v3', 0),
      row(v4.id, 'custom-v4', 0.01),
      row(v5.id, 'custom-v5', 40),
    ])
  })

  t.test('group by UTC week and month', async (t) => {
    t.same(await rows({ metric: 'avg_score', group_by: 'week' }), [
      row('2024-02-26', '2024-02-26', 20),
      row('2024-03-04', '2024-03-04', 50), // Sunday 23:30 UTC
      row('2024-03-11', '2024-03-11', 87.5), // Monday 00:30 UTC onwards: (100 + 75) / 2
      row('2024-03-25', '2024-03-25', 75),
      row('2024-04-01', '2024-04-01', 25),
      row('2024-04-29', '2024-04-29', null), // only an ungraded submission
    ])
    t.same(await rows({ metric: 'submission_count', group_by: 'month' }), [
      row('2024-02-01', '2024-02-01', 1),
      row('2024-03-01', '2024-03-01', 5),
      row('2024-04-01', '2024-04-01', 1),
      row('2024-05-01', '2024-05-01', 1),
    ])
    // March: 3 of 5 on time = 60
    t.same(await rows({ metric: 'on_time_rate', group_by: 'month' }, 'from=2024-03-01&to=2024-03-31'), [
      row('2024-03-01', '2024-03-01', 60),
    ])
  })

  t.test('where and filters narrow the data', async (t) => {
    // v2 is in P only: graded 100 and 75 → 87.5
    t.same(await rows({ metric: 'avg_score', group_by: 'class', where: { student_id: v2.id } }), [
      row(P, 'P', 87.5),
    ])
    // p2's submissions, by the students of its class.
    t.same(await rows({ metric: 'submission_count', group_by: 'student', where: { assignment_id: p2 } }), [
      row(v1.id, 'custom-v1', 1),
      row(v2.id, 'custom-v2', 1),
      row(v3.id, 'custom-v3', 1),
      row(v4.id, 'custom-v4', 1),
    ])
    t.same(await rows({ metric: 'avg_score', group_by: 'class', where: { class_id: Q } }), [
      row(Q, 'Q', null),
    ])
    // March only: P 5, Q 0.
    t.same(await rows({ metric: 'submission_count', group_by: 'class' }, 'from=2024-03-01&to=2024-03-31'), [
      row(P, 'P', 5),
      row(Q, 'Q', 0),
    ])
    t.same(await rows({ metric: 'submission_count', group_by: 'class' }, `class_id=${Q}`), [row(Q, 'Q', 0)])
    // Completion ignores from/to (material progress has no submission time).
    t.same(await rows({ metric: 'completion', group_by: 'class' }, 'from=2030-01-01'), [
      row(P, 'P', 21.25),
      row(Q, 'Q', 40),
    ])
  })

  t.test("a teacher's personal result covers its own classes only", async (t) => {
    t.same(await rows({ metric: 'avg_score', group_by: 'class' }, '', teacherP), [row(P, 'P', 57.5)])
    t.same(await rows({ metric: 'submission_count', group_by: 'student' }, '', teacherP), [
      row(v1.id, 'custom-v1', 2),
      row(v2.id, 'custom-v2', 2),
      row(v3.id, 'custom-v3', 2),
      row(v4.id, 'custom-v4', 2),
    ])
  })

  t.test('params checked per metric', async (t) => {
    for (const [params, message] of [
      [
        { metric: 'completion', group_by: 'week' },
        'params.group_by must be class or student for metric completion',
      ],
      [
        { metric: 'completion', group_by: 'class', where: { assignment_id: p1 } },
        'params.where.assignment_id does not apply to metric completion',
      ],
      [{ metric: 'median', group_by: 'class' }, 'params.metric must be one of'],
      [{ metric: 'avg_score', group_by: 'class', where: { teacher_id: 1 } }, 'params.where.teacher_id'],
      [
        { metric: 'avg_score', group_by: 'class', where: { student_id: teacherP.id } },
        'params.where.student_id',
      ],
    ] as const) {
      const res = await app.inject({
        method: 'POST',
        url: '/reports',
        headers: bearer(admin),
        payload: { type: 'custom', title: 'x', params },
      })
      t.equal(res.statusCode, 400, JSON.stringify(params))
      t.match(res.json(), {
        code: 'INVALID_PARAMS',
        message: new RegExp(`^${message.replace(/\./g, '\\.')}`),
      })
    }
  })
})
