// Invalidation exactness at the HTTP level: one report of every kind is warm
// (HIT); after each mutation route of API.md, the reports the change affects
// answer MISS with the new data (a conditional GET with the old ETag gets 200,
// not 304), and the others keep answering HIT (304 on their old ETag, the
// same bytes). "Affected" means: the report reads rows the mutation changed
// (an ungraded submission is read by an average even if it leaves it alone).
// Every report is compared with a fresh computation after every step, so a
// missing tag (a stale read) fails as surely as a superfluous one.
import t from 'tap'
import {
  type Caller,
  cacheApp,
  cacheWorld,
  createReports,
  freshData,
  getReport,
  mutateOk,
  type Reports,
  STORES,
  storeOverrides,
} from './helpers/report-cache.js'
import { createReport } from './helpers/reports.js'

/** Custom shapes beyond the shared fixture's, each reading a different set of tags (see custom.ts). */
interface MoreReports {
  /** avg_score by assignment of c1: class-work:c1, class:c1 (the list of assignments). */
  customAssignC1: number
  /** submission_count by assignment, whole tenant: school-work, school-structure. */
  customAssignTenant: number
  /** on_time_rate by student, whole tenant: school-work, school-roster. */
  customStudentsTenant: number
  /** completion by class, whole tenant: school-progress, school-roster, school-materials. */
  customCompletionTenant: number
  /** avg_score by assignment of s1 (enrolled in c1): student:s1, class:c1. */
  customS1: number
  /** submission_count by student on a1: assignment:a1, roster:c1. */
  customA1: number
  /** completion by class of s2 (in c1 and c2): student:s2, class-materials:c1, class-materials:c2. */
  customCompletionS2: number
  /** submission_count by month in c2: class-work:c2. */
  customMonthC2: number
  /** avg_score by class of s2: student:s2, class:c1, class:c2 (a rescale alters s2's scores). */
  customS2: number
}

type Name = keyof Reports | keyof MoreReports

interface Step {
  name: string
  run: () => Promise<unknown>
  /** Affected: MISS after the mutation. */
  miss: Name[]
  /** Whose data must differ from before (a subset of miss). */
  changed: Name[]
  /** Reports gone after this step (404). */
  deleted?: Name[]
}

for (const store of STORES) {
  t.test(`${store} store: every mutation invalidates exactly the reports it affects`, async (t) => {
    const cw = await cacheWorld(t)
    const { app } = await cacheApp(t, cw, storeOverrides(t, store))
    const { w } = cw
    const admin = w.admin
    const custom = (params: Record<string, unknown>) => createReport(app, admin, 'custom', params)
    const reports: Reports & MoreReports = {
      ...(await createReports(app, cw)),
      customAssignC1: await custom({
        metric: 'avg_score',
        group_by: 'assignment',
        where: { class_id: w.c1 },
      }),
      customAssignTenant: await custom({ metric: 'submission_count', group_by: 'assignment' }),
      customStudentsTenant: await custom({ metric: 'on_time_rate', group_by: 'student' }),
      customCompletionTenant: await custom({ metric: 'completion', group_by: 'class' }),
      customS1: await custom({ metric: 'avg_score', group_by: 'assignment', where: { student_id: w.s1.id } }),
      customA1: await custom({
        metric: 'submission_count',
        group_by: 'student',
        where: { assignment_id: cw.a1 },
      }),
      customCompletionS2: await custom({
        metric: 'completion',
        group_by: 'class',
        where: { student_id: w.s2.id },
      }),
      customMonthC2: await custom({
        metric: 'submission_count',
        group_by: 'month',
        where: { class_id: w.c2 },
      }),
      customS2: await custom({ metric: 'avg_score', group_by: 'class', where: { student_id: w.s2.id } }),
    }
    const names = Object.keys(reports) as Name[]
    const gone = new Set<Name>()

    const warmAll = async (caller: Caller) => {
      const state = new Map<Name, { etag: string; data: unknown; raw: Buffer }>()
      for (const name of names) {
        if (gone.has(name)) continue
        let res = await getReport(app, caller, reports[name])
        if (res.xCache !== 'HIT') res = await getReport(app, caller, reports[name])
        t.equal(res.xCache, 'HIT', `${name} is warm`)
        state.set(name, { etag: res.etag ?? '', data: res.data, raw: res.raw })
      }
      return state
    }

    // The assignment created by a step.
    let newAssignment = 0

    // Tags each report reads (from the report types), for reading the steps:
    // progressS1 student:s1 class:c1 · progressS2 student:s2 class:c1 class:c2 ·
    // distC1 class-work:c1 · distC2 class-work:c2 · distA1 assignment:a1 ·
    // analyticsAll school-work · analyticsC2 class-work:c2 ·
    // customC1 class-work:c1 roster:c1 · customCompletionC1 class-progress:c1
    // roster:c1 class-materials:c1 · customTenant school-work ·
    // customAssignC1 class-work:c1 class:c1 · customAssignTenant school-work
    // school-structure · customStudentsTenant school-work school-roster ·
    // customCompletionTenant school-progress school-roster school-materials ·
    // customS1 student:s1 class:c1 · customA1 assignment:a1 roster:c1 ·
    // customCompletionS2 student:s2 class-materials:c1 class-materials:c2 ·
    // customMonthC2 class-work:c2 · customS2 student:s2 class:c1 class:c2.
    const steps: Step[] = [
      {
        name: "PATCH /submissions/:id grades s1's work in c1",
        run: () => mutateOk(app, admin, 'PATCH', `/submissions/${cw.subS1A1}`, { score: 3 }),
        miss: [
          'progressS1',
          'distC1',
          'distA1',
          'analyticsAll',
          'customC1',
          'customTenant',
          'customAssignC1',
          'customAssignTenant',
          'customStudentsTenant',
          'customS1',
          'customA1',
        ],
        // Counts and on-time rates read the submission but a grade leaves them alone.
        changed: [
          'progressS1',
          'distC1',
          'distA1',
          'analyticsAll',
          'customC1',
          'customTenant',
          'customAssignC1',
          'customS1',
        ],
      },
      {
        name: 'POST /submissions: s1 hands in a2 (c1), ungraded',
        run: () =>
          mutateOk(app, admin, 'POST', '/submissions', {
            assignment_id: cw.a2,
            student_id: w.s1.id,
            submitted_at: '2024-03-19T09:00:00Z',
          }),
        // The distribution and the averages read c1's submissions; an ungraded one leaves their numbers alone.
        // customA1 counts a1's submissions only.
        miss: [
          'progressS1',
          'distC1',
          'analyticsAll',
          'customC1',
          'customTenant',
          'customAssignC1',
          'customAssignTenant',
          'customStudentsTenant',
          'customS1',
        ],
        changed: ['progressS1', 'analyticsAll', 'customAssignTenant'],
      },
      {
        name: "DELETE /submissions/:id removes s3's work in c2",
        run: () => mutateOk(app, admin, 'DELETE', `/submissions/${cw.subS3B1}`),
        // progressS2 reads c2 but only s2's own work.
        miss: [
          'distC2',
          'analyticsAll',
          'analyticsC2',
          'customTenant',
          'customAssignTenant',
          'customStudentsTenant',
          'customMonthC2',
        ],
        changed: [
          'distC2',
          'analyticsAll',
          'analyticsC2',
          'customTenant',
          'customAssignTenant',
          'customStudentsTenant',
          'customMonthC2',
        ],
      },
      {
        name: 'PUT /material-progress: s1 on a c1 material',
        run: () =>
          mutateOk(app, admin, 'PUT', '/material-progress', {
            material_id: cw.m1,
            student_id: w.s1.id,
            percent: 50,
          }),
        // Work reports (analytics, averages) read no progress.
        miss: ['progressS1', 'customCompletionC1', 'customCompletionTenant', 'customS1'],
        changed: ['progressS1', 'customCompletionC1', 'customCompletionTenant'],
      },
      {
        name: 'PUT /material-progress: s2 on a c2 material',
        run: () =>
          mutateOk(app, admin, 'PUT', '/material-progress', {
            material_id: cw.m2,
            student_id: w.s2.id,
            percent: 80,
          }),
        // s2 is in c1 too, but c1's completion reads only c1's materials.
        miss: ['progressS2', 'customCompletionTenant', 'customCompletionS2', 'customS2'],
        changed: ['progressS2', 'customCompletionTenant', 'customCompletionS2'],
      },
      {
        name: 'POST /enrollments: s3 joins c1',
        run: () => mutateOk(app, admin, 'POST', '/enrollments', { class_id: w.c1, student_id: w.s3.id }),
        // Per-student reports of c1 list its roster; completion averages over (student, material)
        // pairs. s1's and s2's progress, the distribution and the averages read no enrollment of s3.
        miss: [
          'customC1',
          'customCompletionC1',
          'customStudentsTenant',
          'customCompletionTenant',
          'customA1',
        ],
        // s3 was already listed tenant-wide (enrolled in c2).
        changed: ['customC1', 'customCompletionC1', 'customCompletionTenant', 'customA1'],
      },
      {
        name: 'DELETE /enrollments/:class_id/:student_id: s3 leaves c1',
        run: () => mutateOk(app, admin, 'DELETE', `/enrollments/${w.c1}/${w.s3.id}`),
        miss: [
          'customC1',
          'customCompletionC1',
          'customStudentsTenant',
          'customCompletionTenant',
          'customA1',
        ],
        changed: ['customC1', 'customCompletionC1', 'customCompletionTenant', 'customA1'],
      },
      {
        name: 'POST /tutor-links: the tutor also tutors s2',
        run: () =>
          mutateOk(app, admin, 'POST', '/tutor-links', { tutor_id: w.tutor.id, student_id: w.s2.id }),
        // Access only: no report data changes (the admin's reads are shared entries).
        miss: [],
        changed: [],
      },
      {
        name: 'POST /assignments: a new assignment in c1',
        run: async () => {
          const res = await mutateOk(app, admin, 'POST', '/assignments', {
            class_id: w.c1,
            title: 'Quiz',
            max_score: 10,
            due_at: '2024-04-01T00:00:00Z',
          })
          newAssignment = res.json().id
        },
        // assignments_total of every student of c1 (s2 too), and the lists of assignments.
        // It has no submissions: distributions, averages and completion stay.
        miss: ['progressS1', 'progressS2', 'customAssignC1', 'customAssignTenant', 'customS1', 'customS2'],
        changed: ['progressS1', 'progressS2', 'customAssignC1', 'customAssignTenant', 'customS1'],
      },
      {
        name: 'PATCH /assignments/:id: a1 renamed',
        run: () => mutateOk(app, admin, 'PATCH', `/assignments/${cw.a1}`, { title: 'Fractions I' }),
        // The lists of assignments show the title; the others read a1's row (class:c1,
        // assignment:a1) but no title. No work tag moves: averages, counts, analytics stay.
        miss: [
          'progressS1',
          'progressS2',
          'distA1',
          'customAssignC1',
          'customAssignTenant',
          'customS1',
          'customA1',
          'customS2',
        ],
        changed: ['customAssignC1', 'customAssignTenant', 'customS1'],
      },
      {
        name: 'PATCH /assignments/:id: a1 rescaled to max_score 20',
        run: () => mutateOk(app, admin, 'PATCH', `/assignments/${cw.a1}`, { max_score: 20 }),
        miss: [
          'progressS1',
          'progressS2',
          'distC1',
          'distA1',
          'analyticsAll',
          'customC1',
          'customTenant',
          'customAssignC1',
          'customAssignTenant',
          'customStudentsTenant',
          'customS1',
          'customA1',
          'customS2',
        ],
        changed: [
          'progressS1',
          'progressS2',
          'distC1',
          'distA1',
          'analyticsAll',
          'customC1',
          'customTenant',
          'customAssignC1',
          'customS1',
          'customS2',
        ],
      },
      {
        name: "DELETE /assignments/:id: a2 (with s1's ungraded work) goes",
        run: () => mutateOk(app, admin, 'DELETE', `/assignments/${cw.a2}`),
        // Completion reads no assignment; a1's distribution and customA1 read only a1.
        miss: [
          'progressS1',
          'progressS2',
          'distC1',
          'analyticsAll',
          'customC1',
          'customTenant',
          'customAssignC1',
          'customAssignTenant',
          'customStudentsTenant',
          'customS1',
          'customS2',
        ],
        changed: [
          'progressS1',
          'progressS2',
          'analyticsAll',
          'customAssignC1',
          'customAssignTenant',
          'customS1',
        ],
      },
      {
        name: 'PATCH /reports/:id: a new title for the c2 distribution',
        run: () => mutateOk(app, admin, 'PATCH', `/reports/${reports.distC2}`, { title: 'Biology grades' }),
        miss: ['distC2'],
        changed: [],
      },
      {
        name: 'PATCH /reports/:id: analytics of c2 becomes analytics of c1',
        run: () =>
          mutateOk(app, admin, 'PATCH', `/reports/${reports.analyticsC2}`, { params: { class_ids: [w.c1] } }),
        miss: ['analyticsC2'],
        changed: ['analyticsC2'],
      },
      {
        name: 'DELETE /reports/:id: the a1 distribution',
        run: () => mutateOk(app, admin, 'DELETE', `/reports/${reports.distA1}`),
        miss: [],
        changed: [],
        deleted: ['distA1'],
      },
    ]

    for (const step of steps) {
      await t.test(step.name, async (t) => {
        const stray = step.changed.filter((name) => !step.miss.includes(name))
        if (stray.length > 0) throw new Error(`${step.name}: changed but not in miss: ${stray.join(', ')}`)
        const before = await warmAll(admin)
        await step.run()
        for (const name of step.deleted ?? []) {
          gone.add(name)
          const res = await getReport(app, admin, reports[name], {
            headers: { 'if-none-match': before.get(name)?.etag ?? '' },
          })
          t.equal(res.status, 404, `${name}: 404 once deleted, even with its old ETag`)
        }
        for (const name of names) {
          if (gone.has(name)) continue
          const old = before.get(name)
          if (!old) throw new Error(`${name} was not warm`)
          // The first request after the change is conditional on the old ETag (RFC 9110 §13.1.2).
          const conditional = await getReport(app, admin, reports[name], {
            headers: { 'if-none-match': old.etag },
          })
          const affected = step.miss.includes(name)
          if (affected) {
            t.equal(conditional.status, 200, `${name}: affected, the old ETag gets 200 (not 304)`)
            t.equal(conditional.xCache, 'MISS', `${name}: affected → MISS`)
            t.not(conditional.etag, old.etag, `${name}: a new ETag`)
          } else {
            t.equal(conditional.status, 304, `${name}: unaffected, the old ETag still matches (304)`)
            t.equal(conditional.xCache, 'HIT', `${name}: unaffected → HIT`)
          }
          const now = conditional.status === 200 ? conditional : await getReport(app, admin, reports[name])
          t.equal(now.status, 200)
          t.same(now.data, await freshData(cw.db, admin, reports[name]), `${name}: serves the current data`)
          if (step.changed.includes(name)) {
            t.notSame(now.data, old.data, `${name}: shows the change`)
          } else if (!affected) {
            t.ok(now.raw.equals(old.raw), `${name}: the same bytes as before`)
          }
        }
      })
    }

    // Sanity: the new assignment's id was seen (the POST really answered 201 with a body).
    t.ok(newAssignment > 0)
  })

  t.test(`${store} store: the views of every viewer of a student refresh after a grade`, async (t) => {
    const cw = await cacheWorld(t)
    const { app } = await cacheApp(t, cw, storeOverrides(t, store))
    const reports = await createReports(app, cw)
    const { w } = cw
    // student_progress is one shared entry for everyone who may see s1.
    const viewers: Caller[] = [w.admin, w.teacherA, w.tutor, w.parent, w.s1]
    const warm = async (caller: Caller) => {
      let res = await getReport(app, caller, reports.progressS1)
      if (res.xCache !== 'HIT') res = await getReport(app, caller, reports.progressS1)
      t.equal(res.xCache, 'HIT', `${caller.role}: warm`)
      return res
    }
    const before = await Promise.all(viewers.map(warm))
    // The teacher grades through the API (teachers may grade their own classes).
    await mutateOk(app, w.teacherA, 'PATCH', `/submissions/${cw.subS1A1}`, { score: 10 })
    const expected = await freshData(cw.db, w.admin, reports.progressS1)
    t.notSame(expected, before[0].data, 'the grade changed the report')
    for (const [i, caller] of viewers.entries()) {
      const res = await getReport(app, caller, reports.progressS1, {
        headers: { 'if-none-match': before[i].etag ?? '' },
      })
      t.equal(res.status, 200, `${caller.role}: 200 on the old ETag`)
      t.same(res.data, expected, `${caller.role}: sees the new grade`)
    }
    // s2's progress (same class c1, not graded) kept hitting throughout.
    const s2 = await getReport(app, w.admin, reports.progressS2)
    t.equal(s2.xCache, 'MISS', 'first read of s2 in this test')
    await mutateOk(app, w.teacherA, 'PATCH', `/submissions/${cw.subS1A1}`, { score: 9 })
    t.equal(
      (await getReport(app, w.admin, reports.progressS2)).xCache,
      'HIT',
      "grading s1 leaves s2's progress cached",
    )
  })
}
