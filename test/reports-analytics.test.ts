// analytics numbers to the digit: UTC week and month periods (a submission
// at 23:30 UTC on a Sunday vs 00:30 on the Monday), nulls for periods with
// nothing graded, on-time rates, top_classes with ties; expected figures are
// worked out by hand in the comments.
import { sql } from 'kysely'
import t from 'tap'
import type { AnalyticsData, SeriesItem } from '../src/reports/analytics.js'
import { uncachedReader } from '../src/reports/report-reader.js'
import { buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import {
  addClass,
  addTenant,
  addUser,
  createReport,
  enroll,
  getReport,
  reportData,
} from './helpers/reports.js'
import { addAssignment, addSubmission } from './helpers/world.js'

const item = (
  period_start: string,
  submissions: number,
  graded: number,
  average_score_pct: number | null,
  on_time_rate: number | null,
): SeriesItem => ({ period_start, submissions, graded, average_score_pct, on_time_rate })

t.test('analytics', async (t) => {
  const handle = await createTestDatabase(t)
  const db = handle.db
  const app = await buildTestApp(t, handle)

  // Tenant "Periods": class P, p1 (max 10, due 2024-03-11 00:00 UTC), p2 (max 4, due 2024-04-30).
  const T = await addTenant(db, 'Periods')
  const admin = await addUser(db, T, 'admin', 'periods-admin')
  const teacher = await addUser(db, T, 'teacher', 'periods-teacher')
  const P = await addClass(db, T, 'P', teacher.id)
  const v = []
  for (let i = 1; i <= 4; i++) {
    const s = await addUser(db, T, 'student', `v${i}`)
    await enroll(db, T, P, s.id)
    v.push(s.id)
  }
  const [v1, v2, v3, v4] = v
  const p1 = await addAssignment(db, T, P, 10, '2024-03-11T00:00:00Z', 'p1')
  const p2 = await addAssignment(db, T, P, 4, '2024-04-30T00:00:00Z', 'p2')
  // 2024-01-01 is a Monday: weeks start 02-26, 03-04, 03-11, 03-25, 04-01, 04-29.
  await addSubmission(db, T, p1, v4, '2024-02-29T23:59:59Z', 2) // Thu, 20 %, on time
  await addSubmission(db, T, p1, v1, '2024-03-10T23:30:00Z', 5) // Sun 23:30, 50 %, on time
  await addSubmission(db, T, p1, v2, '2024-03-11T00:30:00Z', 10) // Mon 00:30, 100 %, late
  await addSubmission(db, T, p1, v3, '2024-03-11T08:00:00Z', null) // Mon, ungraded, late
  await addSubmission(db, T, p2, v4, '2024-03-12T00:00:00Z', 3) // Tue, 75 %, on time
  await addSubmission(db, T, p2, v2, '2024-03-31T23:59:59Z', 3) // Sun, 75 %, on time
  await addSubmission(db, T, p2, v1, '2024-04-01T00:00:00Z', 1) // Mon, 25 %, on time
  await addSubmission(db, T, p2, v3, '2024-05-02T00:00:00Z', null) // Thu, ungraded, late

  const whole = await createReport(app, admin, 'analytics', {})

  const weekly = [
    item('2024-02-26', 1, 1, 20, 100),
    item('2024-03-04', 1, 1, 50, 100),
    // Mon 00:30, Mon 08:00, Tue: (100 + 75) / 2 = 87.5; 1 of 3 on time = 33.33
    item('2024-03-11', 3, 2, 87.5, 33.33),
    item('2024-03-25', 1, 1, 75, 100),
    item('2024-04-01', 1, 1, 25, 100),
    // nothing graded: null, not 0; on time 0 of 1 is a real 0
    item('2024-04-29', 1, 0, null, 0),
  ]
  const monthly = [
    item('2024-02-01', 1, 1, 20, 100),
    // (50 + 100 + 75 + 75) / 4 = 75; on time: 03-10, 03-12, 03-31 = 3 of 5 = 60
    item('2024-03-01', 5, 4, 75, 60),
    item('2024-04-01', 1, 1, 25, 100),
    item('2024-05-01', 1, 0, null, 0),
  ]

  t.test('weekly series (the default), periods in UTC', async (t) => {
    const res = await getReport(app, admin, whole)
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.same(body.filters, { granularity: 'week' }, 'default granularity applied and shown')
    t.same(body.data.series, weekly)
    // All graded: (20 + 50 + 100 + 75 + 75 + 25) / 6 = 57.5
    t.same(body.data.top_classes, [{ class_id: P, class_name: 'P', average_score_pct: 57.5 }])
  })

  t.test('monthly series', async (t) => {
    const data = await reportData<AnalyticsData>(app, admin, whole, 'granularity=month')
    t.same(data.series, monthly)
  })

  t.test('periods do not depend on the session time zone', async (t) => {
    // At UTC+14 the Sunday 23:30 UTC submission is Monday local time; the report must not move it.
    const principal = { id: admin.id, tenantId: T, role: 'admin' as const }
    const body = await db.transaction().execute(async (trx) => {
      await sql`set local time zone 'Pacific/Kiritimati'`.execute(trx)
      const outcome = await uncachedReader(trx).read({ principal, reportId: whole, query: {} })
      return JSON.parse(String(outcome.body))
    })
    t.same(body.data.series, weekly)
  })

  t.test('from/to are inclusive UTC days on submission time', async (t) => {
    // 03-10 … 03-11 keeps Sun 23:30, Mon 00:30 and Mon 08:00, not Tue 00:00.
    const data = await reportData<AnalyticsData>(app, admin, whole, 'from=2024-03-10&to=2024-03-11')
    t.same(data.series, [item('2024-03-04', 1, 1, 50, 100), item('2024-03-11', 2, 1, 100, 0)])
    // (50 + 100) / 2 = 75
    t.same(data.top_classes, [{ class_id: P, class_name: 'P', average_score_pct: 75 }])
    // 03-31 … 04-01 keeps Sun 23:59:59 and Mon 00:00:00 exactly.
    const edge = await reportData<AnalyticsData>(
      app,
      admin,
      whole,
      'from=2024-03-31&to=2024-04-01&granularity=month',
    )
    t.same(edge.series, [item('2024-03-01', 1, 1, 75, 100), item('2024-04-01', 1, 1, 25, 100)])
    // Nothing in range: empty series and no top classes.
    t.same(await reportData<AnalyticsData>(app, admin, whole, 'from=2025-01-01'), {
      series: [],
      top_classes: [],
    })
  })

  t.test('top_classes: five best by average, ties by class_id, ungraded classes left out', async (t) => {
    const T2 = await addTenant(db, 'Top')
    const admin2 = await addUser(db, T2, 'admin', 'top-admin')
    const teacher2 = await addUser(db, T2, 'teacher', 'top-teacher')
    const w1 = await addUser(db, T2, 'student', 'top-w1')
    const w2 = await addUser(db, T2, 'student', 'top-w2')
    const klass = async (name: string, scores: (number | null)[], teacherId: number | null = null) => {
      const id = await addClass(db, T2, name, teacherId)
      const a = await addAssignment(db, T2, id, 10, '2030-01-01T00:00:00Z')
      for (const [i, score] of scores.entries()) {
        await addSubmission(db, T2, a, [w1.id, w2.id][i], '2024-06-03T10:00:00Z', score)
      }
      return id
    }
    const k1 = await klass('K1', [8], teacher2.id) // 80
    const k2 = await klass('K2', [9]) // 90
    const k3 = await klass('K3', [7, 9], teacher2.id) // (70 + 90) / 2 = 80, ties with K1
    const k4 = await klass('K4', [7]) // 70
    await klass('K5', [6]) // 60: sixth, left out
    const k6 = await klass('K6', [9.5]) // 95
    await klass('K7', [null]) // nothing graded: left out
    const report = await createReport(app, admin2, 'analytics', {})

    const data = await reportData<AnalyticsData>(app, admin2, report)
    t.same(data.top_classes, [
      { class_id: k6, class_name: 'K6', average_score_pct: 95 },
      { class_id: k2, class_name: 'K2', average_score_pct: 90 },
      { class_id: k1, class_name: 'K1', average_score_pct: 80 },
      { class_id: k3, class_name: 'K3', average_score_pct: 80 },
      { class_id: k4, class_name: 'K4', average_score_pct: 70 },
    ])
    // 8 submissions on Monday 06-03, 7 graded: (80 + 90 + 70 + 90 + 70 + 60 + 95) / 7 = 79.2857… → 79.29; all on time.
    t.same(data.series, [item('2024-06-03', 8, 7, 79.29, 100)])

    t.test('a teacher without class_ids sees its own classes only', async (t) => {
      const mine = await reportData<AnalyticsData>(app, teacher2, report)
      t.same(mine.top_classes, [
        { class_id: k1, class_name: 'K1', average_score_pct: 80 },
        { class_id: k3, class_name: 'K3', average_score_pct: 80 },
      ])
      // K1 and K3: (80 + 70 + 90) / 3 = 80
      t.same(mine.series, [item('2024-06-03', 3, 3, 80, 100)])
    })

    t.test('class_ids and the class_id filter', async (t) => {
      const some = await createReport(app, admin2, 'analytics', { class_ids: [k4, k2] })
      const data = await reportData<AnalyticsData>(app, admin2, some)
      // (90 + 70) / 2 = 80
      t.same(data.series, [item('2024-06-03', 2, 2, 80, 100)])
      t.same(
        data.top_classes.map((c) => c.class_id),
        [k2, k4],
      )
      const one = await reportData<AnalyticsData>(app, admin2, some, `class_id=${k4}`)
      t.same(one.series, [item('2024-06-03', 1, 1, 70, 100)])
      // A class outside class_ids narrows to nothing.
      t.same(await reportData<AnalyticsData>(app, admin2, some, `class_id=${k1}`), {
        series: [],
        top_classes: [],
      })
      // On the whole tenant the filter keeps one class.
      const k3Only = await reportData<AnalyticsData>(app, admin2, report, `class_id=${k3}`)
      t.same(k3Only.top_classes, [{ class_id: k3, class_name: 'K3', average_score_pct: 80 }])
    })
  })

  t.test('on-time rate rounding: 2 of 3', async (t) => {
    const T3 = await addTenant(db, 'Rates')
    const admin3 = await addUser(db, T3, 'admin', 'rates-admin')
    const c = await addClass(db, T3, 'R')
    const a = await addAssignment(db, T3, c, 10, '2024-01-10T00:00:00Z')
    for (const [i, at] of [
      '2024-01-09T00:00:00Z',
      '2024-01-10T00:00:00Z',
      '2024-01-10T00:00:01Z',
    ].entries()) {
      const s = await addUser(db, T3, 'student', `rates-${i}`)
      await addSubmission(db, T3, a, s.id, at, null)
    }
    const report = await createReport(app, admin3, 'analytics', {})
    const data = await reportData<AnalyticsData>(app, admin3, report, 'granularity=month')
    // On time at or before due_at: 2 of 3 = 66.666… → 66.67; nothing graded: null average, no top class.
    t.same(data, { series: [item('2024-01-01', 3, 0, null, 66.67)], top_classes: [] })
  })
})
