// Invalidation exactness at the HTTP level: one report of every kind is warm
// (HIT); after each mutation route of API.md, the reports the change affects
// answer MISS with the new data (a conditional GET with the old ETag gets 200,
// not 304), and the others keep answering HIT (304 on their old ETag).
// "Affected" means: the report reads rows the mutation changed. Where the tag
// vocabulary is coarser than that (class:C covers assignments, materials and
// the roster; school:T covers every table), the report is listed as `over`:
// staying HIT is the goal, recorded as a TODO, never a failure.
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

type Name = keyof Reports

interface Step {
  name: string
  run: () => Promise<unknown>
  /** Affected: MISS after the mutation. */
  miss: Name[]
  /** Whose data must differ from before (a subset of miss). */
  changed: Name[]
  /** Unaffected but invalidated by a coarse tag (see the header). */
  over?: Partial<Record<Name, string>>
  /** Reports gone after this step (404). */
  deleted?: Name[]
}

const COARSE_SCHOOL = 'school:T is the only tag of a tenant-wide aggregate: any change in the tenant bumps it'
const COARSE_CLASS = 'class:C stands for assignments, materials and the roster of C at once'

for (const store of STORES) {
  t.test(`${store} store: every mutation invalidates exactly the reports it affects`, async (t) => {
    const cw = await cacheWorld(t)
    const { app } = await cacheApp(t, cw, storeOverrides(t, store))
    const reports = await createReports(app, cw)
    const { w } = cw
    const admin = w.admin
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

    // A submission created in a step, graded or deleted by later ones.
    let newAssignment = 0

    const steps: Step[] = [
      {
        name: "PATCH /submissions/:id grades s1's work in c1",
        run: () => mutateOk(app, admin, 'PATCH', `/submissions/${cw.subS1A1}`, { score: 3 }),
        miss: ['progressS1', 'distC1', 'distA1', 'analyticsAll', 'customC1', 'customTenant'],
        changed: ['progressS1', 'distC1', 'distA1', 'analyticsAll', 'customC1', 'customTenant'],
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
        miss: ['progressS1', 'distC1', 'analyticsAll', 'customC1', 'customTenant'],
        changed: ['progressS1', 'analyticsAll'],
      },
      {
        name: "DELETE /submissions/:id removes s3's work in c2",
        run: () => mutateOk(app, admin, 'DELETE', `/submissions/${cw.subS3B1}`),
        miss: ['distC2', 'analyticsAll', 'analyticsC2', 'customTenant'],
        changed: ['distC2', 'analyticsAll', 'analyticsC2', 'customTenant'],
      },
      {
        name: 'PUT /material-progress: s1 on a c1 material',
        run: () =>
          mutateOk(app, admin, 'PUT', '/material-progress', {
            material_id: cw.m1,
            student_id: w.s1.id,
            percent: 50,
          }),
        miss: ['progressS1', 'customCompletionC1'],
        changed: ['progressS1', 'customCompletionC1'],
        over: { analyticsAll: COARSE_SCHOOL, customTenant: COARSE_SCHOOL },
      },
      {
        name: 'POST /enrollments: s3 joins c1',
        run: () => mutateOk(app, admin, 'POST', '/enrollments', { class_id: w.c1, student_id: w.s3.id }),
        // Per-student custom reports of c1 list its roster.
        miss: ['customC1', 'customCompletionC1'],
        changed: ['customC1', 'customCompletionC1'],
        over: {
          progressS1: COARSE_CLASS,
          progressS2: COARSE_CLASS,
          distC1: COARSE_CLASS,
          analyticsAll: COARSE_SCHOOL,
          customTenant: COARSE_SCHOOL,
        },
      },
      {
        name: 'DELETE /enrollments/:class_id/:student_id: s3 leaves c1',
        run: () => mutateOk(app, admin, 'DELETE', `/enrollments/${w.c1}/${w.s3.id}`),
        miss: ['customC1', 'customCompletionC1'],
        changed: ['customC1', 'customCompletionC1'],
        over: {
          progressS1: COARSE_CLASS,
          progressS2: COARSE_CLASS,
          distC1: COARSE_CLASS,
          analyticsAll: COARSE_SCHOOL,
          customTenant: COARSE_SCHOOL,
        },
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
        // assignments_total of every student of c1 (s2 too).
        miss: ['progressS1', 'progressS2'],
        changed: ['progressS1', 'progressS2'],
        over: {
          distC1: COARSE_CLASS,
          customC1: COARSE_CLASS,
          customCompletionC1: COARSE_CLASS,
          analyticsAll: COARSE_SCHOOL,
          customTenant: COARSE_SCHOOL,
        },
      },
      {
        name: 'PATCH /assignments/:id: a1 rescaled to max_score 20',
        run: () => mutateOk(app, admin, 'PATCH', `/assignments/${cw.a1}`, { max_score: 20 }),
        miss: ['progressS1', 'progressS2', 'distC1', 'distA1', 'analyticsAll', 'customC1', 'customTenant'],
        changed: ['progressS1', 'progressS2', 'distC1', 'distA1', 'analyticsAll', 'customC1', 'customTenant'],
        over: { customCompletionC1: COARSE_CLASS },
      },
      {
        name: "DELETE /assignments/:id: a2 (with s1's ungraded work) goes",
        run: () => mutateOk(app, admin, 'DELETE', `/assignments/${cw.a2}`),
        miss: ['progressS1', 'progressS2', 'distC1', 'analyticsAll', 'customC1', 'customTenant'],
        changed: ['progressS1', 'progressS2', 'analyticsAll'],
        over: { customCompletionC1: COARSE_CLASS },
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
          const expected = step.miss.includes(name) ? 'miss' : step.over?.[name] ? 'over' : 'hit'
          if (expected === 'miss') {
            t.equal(conditional.status, 200, `${name}: affected, the old ETag gets 200 (not 304)`)
            t.equal(conditional.xCache, 'MISS', `${name}: affected → MISS`)
            t.not(conditional.etag, old.etag, `${name}: a new ETag`)
          } else if (expected === 'hit') {
            t.equal(conditional.status, 304, `${name}: unaffected, the old ETag still matches (304)`)
            t.equal(conditional.xCache, 'HIT', `${name}: unaffected → HIT`)
          } else {
            t.equal(conditional.xCache, 'HIT', `${name}: unaffected, could stay HIT`, {
              todo: step.over?.[name],
            })
          }
          const now = conditional.status === 200 ? conditional : await getReport(app, admin, reports[name])
          t.equal(now.status, 200)
          t.same(now.data, await freshData(cw.db, admin, reports[name]), `${name}: serves the current data`)
          if (step.changed.includes(name)) {
            t.notSame(now.data, old.data, `${name}: shows the change`)
          } else if (expected === 'hit') {
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
