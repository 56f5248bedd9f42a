// grade_distribution numbers to the digit: bucket edges, even and odd
// medians, population stddev, nulls. Expected figures come from plain JS
// arithmetic on the fixture's score percentages, or by hand where rounding
// of an exact tie is the point.
import t from 'tap'
import type { GradeDistributionData } from '../src/reports/grade-distribution.js'
import { buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import { addClass, addUser, createReport, enroll, reportData } from './helpers/reports.js'
import { addAssignment, addSubmission, buildWorld } from './helpers/world.js'

const round2 = (x: number) => Math.round(x * 100) / 100
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const popStddev = (xs: number[]) => {
  const m = mean(xs)
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length)
}

/** Ten buckets with the given counts by lower bound. */
function buckets(counts: Record<number, number>) {
  return Array.from({ length: 10 }, (_, i) => ({ from: i * 10, to: i * 10 + 10, count: counts[i * 10] ?? 0 }))
}

t.test('grade_distribution', async (t) => {
  const handle = await createTestDatabase(t)
  const db = handle.db
  const app = await buildTestApp(t, handle)
  const w = await buildWorld(db)
  const T = w.tenant1

  const cg = await addClass(db, T, 'Geometry', w.teacherA.id)
  const students = []
  for (let i = 0; i < 6; i++) {
    const s = await addUser(db, T, 'student', `g${i}`)
    await enroll(db, T, cg, s.id)
    students.push(s.id)
  }
  // g1 (max 100): score % = score: the bucket edges 0, 9.99, 10, 90, 100, and one ungraded.
  const g1 = await addAssignment(db, T, cg, 100, '2024-05-01T00:00:00Z', 'g1')
  const g1Scores = [0, 9.99, 10, 90, 100]
  for (const [i, score] of g1Scores.entries()) {
    await addSubmission(db, T, g1, students[i], `2024-04-0${i + 1}T10:00:00Z`, score)
  }
  await addSubmission(db, T, g1, students[5], '2024-04-06T10:00:00Z', null)
  // g2 (max 8): 5/8 = 62.5 %, submitted 2024-04-10.
  const g2 = await addAssignment(db, T, cg, 8, '2024-05-01T00:00:00Z', 'g2')
  await addSubmission(db, T, g2, students[0], '2024-04-10T10:00:00Z', 5)
  // g3 (max 3): 1/3 and 2/3, repeating decimals.
  const g3 = await addAssignment(db, T, cg, 3, '2024-05-01T00:00:00Z', 'g3')
  await addSubmission(db, T, g3, students[0], '2024-04-11T10:00:00Z', 1)
  await addSubmission(db, T, g3, students[1], '2024-04-11T10:00:00Z', 2)
  // g4: nothing graded.
  const g4 = await addAssignment(db, T, cg, 10, '2024-05-01T00:00:00Z', 'g4')
  await addSubmission(db, T, g4, students[0], '2024-04-12T10:00:00Z', null)

  const byG1 = await createReport(app, w.admin, 'grade_distribution', { assignment_id: g1 })
  const byG3 = await createReport(app, w.admin, 'grade_distribution', { assignment_id: g3 })
  const byG4 = await createReport(app, w.admin, 'grade_distribution', { assignment_id: g4 })
  const byClass = await createReport(app, w.admin, 'grade_distribution', { class_id: cg })

  t.test('bucket edges and an odd count', async (t) => {
    const data = await reportData<GradeDistributionData>(app, w.admin, byG1)
    // 0 and 9.99 in [0,10); 10 in [10,20); 90 and 100 in [90,100]; the ungraded one nowhere.
    t.same(data.buckets, buckets({ 0: 2, 10: 1, 90: 2 }))
    t.equal(data.count, 5)
    // (0 + 9.99 + 10 + 90 + 100) / 5 = 41.998 → 42
    t.equal(data.mean, 42)
    t.equal(data.mean, round2(mean(g1Scores)))
    t.equal(data.median, 10, 'odd count: the middle value')
    t.equal(data.stddev, round2(popStddev(g1Scores)), 'population, not sample, stddev')
    t.not(data.stddev, round2(Math.sqrt((popStddev(g1Scores) ** 2 * 5) / 4)))
    t.equal(data.min, 0)
    t.equal(data.max, 100)
  })

  t.test('a whole class: even count, exact-tie rounding', async (t) => {
    const data = await reportData<GradeDistributionData>(app, w.admin, byClass)
    const pcts = [0, 9.99, 10, 90, 100, 62.5, (1 / 3) * 100, (2 / 3) * 100]
    t.same(data.buckets, buckets({ 0: 2, 10: 1, 30: 1, 60: 2, 90: 2 }))
    t.equal(data.count, 8)
    // 0 + 9.99 + 10 + 90 + 100 + 62.5 + 100/3 + 200/3 = 372.49 → / 8 = 46.56125 → 46.56
    t.equal(data.mean, 46.56)
    // sorted: 0, 9.99, 10, 33.33…, 62.5, 66.66…, 90, 100 → (33.333… + 62.5) / 2 = 47.91666… → 47.92
    t.equal(data.median, 47.92, 'even count: the mean of the two middle values')
    t.equal(data.stddev, round2(popStddev(pcts)))
    t.equal(data.min, 0)
    t.equal(data.max, 100)
  })

  t.test('repeating decimals round to 2 places', async (t) => {
    const data = await reportData<GradeDistributionData>(app, w.admin, byG3)
    // 33.333… and 66.666…: mean and median 50, stddev 16.666… → 16.67
    t.same(data, {
      buckets: buckets({ 30: 1, 60: 1 }),
      count: 2,
      mean: 50,
      median: 50,
      stddev: 16.67,
      min: 33.33,
      max: 66.67,
    })
  })

  t.test('even-count median with an exact tie: 45.415 rounds to 45.42', async (t) => {
    // Scores 0, 9.99, 10, 90, 100 and 62.5 on the class, from/to keeping g1 and g2:
    // median (10 + 62.5) / 2 = 36.25; mean 272.49 / 6 = 45.415 → 45.42.
    const data = await reportData<GradeDistributionData>(
      app,
      w.admin,
      byClass,
      'from=2024-04-01&to=2024-04-10',
    )
    t.equal(data.count, 6)
    t.equal(data.median, 36.25)
    t.equal(data.mean, 45.42)
    t.same(data.buckets, buckets({ 0: 2, 10: 1, 60: 1, 90: 2 }))
  })

  t.test('nothing graded: zero counts, null statistics', async (t) => {
    const empty = {
      buckets: buckets({}),
      count: 0,
      mean: null,
      median: null,
      stddev: null,
      min: null,
      max: null,
    }
    t.same(await reportData<GradeDistributionData>(app, w.admin, byG4), empty)
    // A date range without submissions.
    t.same(
      await reportData<GradeDistributionData>(app, w.admin, byClass, 'from=2023-01-01&to=2023-12-31'),
      empty,
    )
    // Filters narrow: another class than the report's gives an empty distribution, not an error.
    t.same(await reportData<GradeDistributionData>(app, w.admin, byClass, `class_id=${w.c1}`), empty)
  })

  t.test('from/to are inclusive days in UTC', async (t) => {
    // g1 submissions on 04-01 … 04-05 at 10:00 UTC: 04-02 to 04-04 keeps 9.99, 10 and 90.
    const data = await reportData<GradeDistributionData>(app, w.admin, byG1, 'from=2024-04-02&to=2024-04-04')
    t.equal(data.count, 3)
    t.same(data.buckets, buckets({ 0: 1, 10: 1, 90: 1 }))
    t.equal(data.median, 10)
    t.equal(data.mean, round2((9.99 + 10 + 90) / 3))
  })
})
