// student_progress numbers to the digit, on a hand-built school; expected
// figures are worked out by hand in the comments, not by the same SQL.
import t from 'tap'
import type { ClassProgress, StudentProgressData } from '../src/reports/student-progress.js'
import { buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import { addClass, addMaterial, createReport, enroll, reportData, setProgress } from './helpers/reports.js'
import { addAssignment, addSubmission, buildWorld } from './helpers/world.js'

t.test('student_progress', async (t) => {
  const handle = await createTestDatabase(t)
  const db = handle.db
  const app = await buildTestApp(t, handle)
  const w = await buildWorld(db)
  const T = w.tenant1

  // c1 (Algebra): s1, s2. c2 (Biology): s2, s3.
  const a1 = await addAssignment(db, T, w.c1, 10, '2024-03-10T12:00:00Z', 'a1')
  const a2 = await addAssignment(db, T, w.c1, 200, '2024-03-20T00:00:00Z', 'a2')
  const a3 = await addAssignment(db, T, w.c1, 3, '2024-04-01T00:00:00Z', 'a3')
  const b1 = await addAssignment(db, T, w.c2, 50, '2024-03-15T00:00:00Z', 'b1')
  const b2 = await addAssignment(db, T, w.c2, 8, '2024-03-31T00:00:00Z', 'b2')
  const m1 = await addMaterial(db, T, w.c1, 'm1')
  const m2 = await addMaterial(db, T, w.c1, 'm2')
  const m3 = await addMaterial(db, T, w.c2, 'm3')

  // s2: a1 late 100 %; a2 on time 24.69/200 = 12.345 %; b1 on time 0 %; b2 exactly at due_at, ungraded.
  await addSubmission(db, T, a1, w.s2.id, '2024-03-11T00:30:00Z', 10)
  await addSubmission(db, T, a2, w.s2.id, '2024-03-19T10:00:00Z', 24.69)
  await addSubmission(db, T, b1, w.s2.id, '2024-03-14T10:00:00Z', 0)
  await addSubmission(db, T, b2, w.s2.id, '2024-03-31T00:00:00Z', null)
  await setProgress(db, T, m1, w.s2.id, 50)
  await setProgress(db, T, m3, w.s2.id, 75.5)
  // s1: a1 exactly at due_at 70 %; a2 late 133.33/200 = 66.665 %; a3 on time, ungraded.
  await addSubmission(db, T, a1, w.s1.id, '2024-03-10T12:00:00Z', 7)
  await addSubmission(db, T, a2, w.s1.id, '2024-03-21T09:00:00Z', 133.33)
  await addSubmission(db, T, a3, w.s1.id, '2024-03-31T23:30:00Z', null)
  await setProgress(db, T, m1, w.s1.id, 100)
  await setProgress(db, T, m2, w.s1.id, 33.33)
  // s3 also in a class with neither assignments nor materials.
  const c3 = await addClass(db, T, 'Chemistry', w.teacherA.id)
  await enroll(db, T, c3, w.s3.id)

  const sp1 = await createReport(app, w.admin, 'student_progress', { student_id: w.s1.id })
  const sp2 = await createReport(app, w.admin, 'student_progress', { student_id: w.s2.id })
  const sp3 = await createReport(app, w.admin, 'student_progress', { student_id: w.s3.id })

  const row = (
    class_id: number,
    class_name: string,
    figures: Omit<ClassProgress, 'class_id' | 'class_name'>,
  ): ClassProgress => ({ class_id, class_name, ...figures })

  t.test('per class and overall, overall average over submissions not class means', async (t) => {
    const data = await reportData<StudentProgressData>(app, w.admin, sp2)
    t.same(data.classes, [
      // (100 + 12.345) / 2 = 56.1725 → 56.17; materials (50 + 0 [no row]) / 2 = 25
      row(w.c1, 'Algebra', {
        assignments_total: 3,
        submitted: 2,
        graded: 2,
        on_time: 1,
        average_score_pct: 56.17,
        materials_completion_pct: 25,
      }),
      // one graded at 0 % → 0, not null; b2 at exactly due_at is on time
      row(w.c2, 'Biology', {
        assignments_total: 2,
        submitted: 2,
        graded: 1,
        on_time: 2,
        average_score_pct: 0,
        materials_completion_pct: 75.5,
      }),
    ])
    // (100 + 12.345 + 0) / 3 = 37.44833… → 37.45 (the mean of class means would be 28.09);
    // materials over all three: (50 + 0 + 75.5) / 3 = 41.8333… → 41.83
    t.same(data.overall, {
      assignments_total: 5,
      submitted: 4,
      graded: 3,
      on_time: 3,
      average_score_pct: 37.45,
      materials_completion_pct: 41.83,
    })
  })

  t.test('rounding is on exact decimals, half away from zero', async (t) => {
    const data = await reportData<StudentProgressData>(app, w.admin, sp1)
    // (70 + 66.665) / 2 = 68.3325 → 68.33; materials (100 + 33.33) / 2 = 66.665 → 66.67
    // (in binary floating point 66.665 is 66.66499… and would round down).
    t.same(data.classes, [
      row(w.c1, 'Algebra', {
        assignments_total: 3,
        submitted: 3,
        graded: 2,
        on_time: 2,
        average_score_pct: 68.33,
        materials_completion_pct: 66.67,
      }),
    ])
    // Only a2 (submitted 2024-03-21): 133.33 / 200 * 100 = 66.665 → 66.67.
    const only = await reportData<StudentProgressData>(app, w.admin, sp1, 'from=2024-03-21&to=2024-03-21')
    t.match(only.classes[0], {
      assignments_total: 3,
      submitted: 1,
      graded: 1,
      on_time: 0,
      average_score_pct: 66.67,
    })
  })

  t.test(
    'from/to filter submissions, inclusive, and leave assignments_total and materials alone',
    async (t) => {
      // In range: a2 (03-19T10:00, the `to` day) and b1 (03-14T10:00, the `from` day).
      const data = await reportData<StudentProgressData>(app, w.admin, sp2, 'from=2024-03-14&to=2024-03-19')
      t.same(data.classes, [
        // 12.345 → 12.35
        row(w.c1, 'Algebra', {
          assignments_total: 3,
          submitted: 1,
          graded: 1,
          on_time: 1,
          average_score_pct: 12.35,
          materials_completion_pct: 25,
        }),
        row(w.c2, 'Biology', {
          assignments_total: 2,
          submitted: 1,
          graded: 1,
          on_time: 1,
          average_score_pct: 0,
          materials_completion_pct: 75.5,
        }),
      ])
      // (12.345 + 0) / 2 = 6.1725 → 6.17
      t.match(data.overall, {
        assignments_total: 5,
        submitted: 2,
        graded: 2,
        on_time: 2,
        average_score_pct: 6.17,
      })

      // A day earlier at the end drops a2; a day later at the start drops b1.
      const before = await reportData<StudentProgressData>(app, w.admin, sp2, 'from=2024-03-14&to=2024-03-18')
      t.equal(before.overall.submitted, 1)
      const after = await reportData<StudentProgressData>(app, w.admin, sp2, 'from=2024-03-15&to=2024-03-19')
      t.equal(after.overall.submitted, 1)
      t.equal(after.overall.average_score_pct, 12.35)
    },
  )

  t.test('class_id keeps one class, overall included', async (t) => {
    const data = await reportData<StudentProgressData>(app, w.admin, sp2, `class_id=${w.c2}`)
    const c2 = {
      assignments_total: 2,
      submitted: 2,
      graded: 1,
      on_time: 2,
      average_score_pct: 0,
      materials_completion_pct: 75.5,
    }
    t.same(data.classes, [row(w.c2, 'Biology', c2)])
    t.same(data.overall, c2)
    // A class the student is not in: nothing, nulls not zeros for the means.
    const none = await reportData<StudentProgressData>(app, w.admin, sp1, `class_id=${w.c2}`)
    t.same(none, {
      classes: [],
      overall: {
        assignments_total: 0,
        submitted: 0,
        graded: 0,
        on_time: 0,
        average_score_pct: null,
        materials_completion_pct: null,
      },
    })
  })

  t.test('no work gives null averages; materials without progress count as 0', async (t) => {
    const data = await reportData<StudentProgressData>(app, w.admin, sp3)
    t.same(data.classes, [
      row(w.c2, 'Biology', {
        assignments_total: 2,
        submitted: 0,
        graded: 0,
        on_time: 0,
        average_score_pct: null,
        materials_completion_pct: 0,
      }),
      // No materials at all: null, not 0.
      row(c3, 'Chemistry', {
        assignments_total: 0,
        submitted: 0,
        graded: 0,
        on_time: 0,
        average_score_pct: null,
        materials_completion_pct: null,
      }),
    ])
    t.same(data.overall, {
      assignments_total: 2,
      submitted: 0,
      graded: 0,
      on_time: 0,
      average_score_pct: null,
      materials_completion_pct: 0,
    })
  })
})
