// Viewer scope: a cached body is only ever served to a viewer allowed to see
// it, and never a body cached for someone who may see more. Access is checked
// on every request, hit or not, and access changes apply on the very next
// request — on every instance (Redis: the change goes through one app, the
// reads through another).
import t from 'tap'
import {
  cacheApp,
  cacheWorld,
  createReports,
  freshData,
  getReport,
  mutateOk,
  privatePrefix,
  STORES,
  storeOverrides,
  until,
} from './helpers/report-cache.js'
import { createReport } from './helpers/reports.js'

for (const store of STORES) {
  t.test(`${store} store: bodies by scope, refusals on warm entries`, async (t) => {
    const cw = await cacheWorld(t)
    const { app } = await cacheApp(t, cw, storeOverrides(t, store))
    const reports = await createReports(app, cw)
    const { admin, teacherA, teacherB, tutor, parent, s1, s2, admin2, teacher2 } = cw.w

    // analytics {} is shared (scope all) for the admin, personal for a teacher.
    const adminBody = await getReport(app, admin, reports.analyticsAll)
    t.equal(adminBody.xCache, 'MISS')
    t.equal((await getReport(app, admin, reports.analyticsAll)).xCache, 'HIT', 'the admin entry is warm')

    const teacherABody = await getReport(app, teacherA, reports.analyticsAll)
    t.equal(teacherABody.status, 200)
    t.equal(teacherABody.xCache, 'MISS', "the teacher's body is its own entry, not the admin's")
    t.notOk(teacherABody.raw.equals(adminBody.raw), "a teacher never gets the admin's body")
    t.same(
      teacherABody.data,
      await freshData(cw.db, teacherA, reports.analyticsAll),
      'restricted to its classes',
    )
    t.notSame(teacherABody.data, adminBody.data)

    const teacherBBody = await getReport(app, teacherB, reports.analyticsAll)
    t.equal(teacherBBody.xCache, 'MISS')
    t.same(teacherBBody.data, await freshData(cw.db, teacherB, reports.analyticsAll))
    t.notSame(teacherBBody.data, teacherABody.data, "teacher B does not get teacher A's body")
    const againA = await getReport(app, teacherA, reports.analyticsAll)
    t.equal(againA.xCache, 'HIT')
    t.ok(againA.raw.equals(teacherABody.raw), 'teacher A gets its own body back')

    // A tenant-wide custom report is personal for teachers too.
    const customA = await getReport(app, teacherA, reports.customTenant)
    const customB = await getReport(app, teacherB, reports.customTenant)
    t.same(customB.data, await freshData(cw.db, teacherB, reports.customTenant))
    t.notSame(customA.data, customB.data, 'each teacher sees only its classes')

    // Class reports: the class's teacher and admins share one entry; others are refused while it is warm.
    await getReport(app, teacherA, reports.distC1)
    const warmC1 = await getReport(app, teacherA, reports.distC1)
    t.equal(warmC1.xCache, 'HIT')
    for (const caller of [teacherB, tutor, parent, s1, s2]) {
      const res = await getReport(app, caller, reports.distC1)
      t.equal(res.status, 403, `${caller.role} ${caller.email}: 403 on the warm c1 distribution`)
      const conditional = await getReport(app, caller, reports.distC1, {
        headers: { 'if-none-match': warmC1.etag ?? '' },
      })
      t.equal(conditional.status, 403, `${caller.email}: 403 even with the entry's ETag (not 304)`)
    }
    for (const caller of [tutor, parent, s1, s2]) {
      t.equal(
        (await getReport(app, caller, reports.analyticsAll)).status,
        403,
        `${caller.email}: no analytics`,
      )
    }

    // s1's progress is shared by everyone who may see s1; s2 may not.
    const progress = await getReport(app, admin, reports.progressS1)
    for (const caller of [teacherA, tutor, parent, s1]) {
      const res = await getReport(app, caller, reports.progressS1)
      t.equal(res.status, 200, `${caller.email} sees s1's progress`)
      t.ok(res.raw.equals(progress.raw), 'the one shared body')
    }
    for (const caller of [s2, teacherB]) {
      t.equal(
        (await getReport(app, caller, reports.progressS1)).status,
        403,
        `${caller.email}: 403 when warm`,
      )
    }

    // Another tenant: 404 even when warm, even with the right ETag.
    for (const caller of [admin2, teacher2]) {
      for (const id of [reports.analyticsAll, reports.distC1, reports.progressS1]) {
        const res = await getReport(app, caller, id, { headers: { 'if-none-match': warmC1.etag ?? '' } })
        t.equal(res.status, 404, `${caller.email}: 404 for tenant 1's report ${id}`)
        t.equal(res.res.json().code, 'REPORT_NOT_FOUND')
      }
    }
    const anonymous = await app.inject({ method: 'GET', url: `/reports/${reports.progressS1}` })
    t.equal(anonymous.statusCode, 401, 'no token: 401')
  })

  t.test(`${store} store: access changes apply on the very next request`, async (t) => {
    const cw = await cacheWorld(t)
    const prefix = store === 'redis' ? privatePrefix(t) : undefined
    const reader = await cacheApp(t, cw, storeOverrides(t, store, prefix))
    const writer = store === 'redis' ? await cacheApp(t, cw, storeOverrides(t, store, prefix)) : reader
    const reports = await createReports(reader.app, cw)
    const { admin, teacherA, parent, s3 } = cw.w
    const progressS3 = await createReport(reader.app, admin, 'student_progress', { student_id: s3.id })

    await getReport(reader.app, teacherA, reports.progressS1)
    t.equal((await getReport(reader.app, teacherA, reports.progressS1)).xCache, 'HIT', 'warm for teacher A')
    t.equal((await getReport(reader.app, teacherA, progressS3)).status, 403, 's3 is not in c1 yet')

    // s1 leaves c1: teacher A loses s1 on the next request, though the entry is warm.
    await mutateOk(writer.app, admin, 'DELETE', `/enrollments/${cw.w.c1}/${cw.w.s1.id}`)
    const refused = await getReport(reader.app, teacherA, reports.progressS1)
    t.equal(refused.status, 403, 'teacher A: 403 right after the enrollment is removed')
    t.equal(
      (await getReport(writer.app, teacherA, reports.progressS1)).status,
      403,
      'on the other instance too',
    )
    const parentView = await getReport(reader.app, parent, reports.progressS1)
    t.equal(parentView.status, 200, 'the parent still sees s1')
    t.same(parentView.data, await freshData(cw.db, admin, reports.progressS1), 'without c1 in it')

    // s3 joins c1: teacher A gains s3 on the next request.
    await mutateOk(writer.app, admin, 'POST', '/enrollments', { class_id: cw.w.c1, student_id: s3.id })
    t.equal((await getReport(reader.app, teacherA, progressS3)).status, 200, 'teacher A now sees s3')
    // And s1 back in c1: visible again.
    await mutateOk(writer.app, admin, 'POST', '/enrollments', { class_id: cw.w.c1, student_id: cw.w.s1.id })
    t.equal((await getReport(reader.app, teacherA, reports.progressS1)).status, 200, 'and s1 again')
  })

  t.test(
    `${store} store: a request after an access change never uses an access load begun before it`,
    async (t) => {
      const cw = await cacheWorld(t)
      const prefix = store === 'redis' ? privatePrefix(t) : undefined
      const setup = await cacheApp(t, cw, storeOverrides(t, store, prefix))
      const reports = await createReports(setup.app, cw)
      // A cold instance: teacher A's access is loaded from the database on its first request.
      const cold = store === 'redis' ? await cacheApp(t, cw, storeOverrides(t, store, prefix)) : setup
      const { admin, teacherA } = cw.w
      const reader = cold.app.reportReader

      // Hold teacher A's access load after it read the roster (s1 still in c1).
      const held = cold.instrumented.holdNext(/\benrollments\b/)
      const early = getReport(cold.app, teacherA, reports.progressS1)
      await held.reached
      await mutateOk(setup.app, admin, 'DELETE', `/enrollments/${cw.w.c1}/${cw.w.s1.id}`)
      const joinedBefore = reader.joinedLoads
      const late = getReport(cold.app, teacherA, reports.progressS1)
      await until(
        () => reader.joinedLoads > joinedBefore,
        'the late request to share the running access load',
      )
      held.release()
      const earlyRes = await early
      t.ok(
        [200, 403].includes(earlyRes.status),
        `the early request (before the change) may go either way: ${earlyRes.status}`,
      )
      const lateRes = await late
      t.equal(lateRes.status, 403, 'the late request (after the change) is refused despite the shared load')
      t.equal((await getReport(cold.app, teacherA, reports.progressS1)).status, 403, 'and so is the next one')
    },
  )
}
