// Repeat GETs of a report: MISS, then HIT with the same bytes and ETag, and a
// warm HIT runs no database query at all — access check included — for an
// admin and for a teacher, on the memory store and on Redis.
import t from 'tap'
import {
  cacheApp,
  cacheWorld,
  createReports,
  getReport,
  STORES,
  storeOverrides,
} from './helpers/report-cache.js'

for (const store of STORES) {
  t.test(`${store} store: MISS then HIT, byte-identical, zero queries when warm`, async (t) => {
    const cw = await cacheWorld(t)
    const { app, instrumented } = await cacheApp(t, cw, storeOverrides(t, store))
    const { counter } = instrumented
    const reports = await createReports(app, cw)
    const { admin, teacherA } = cw.w

    const cases = [
      { name: 'student_progress (admin)', caller: admin, id: reports.progressS1 },
      { name: 'grade_distribution (admin)', caller: admin, id: reports.distC1 },
      { name: 'analytics tenant-wide (admin)', caller: admin, id: reports.analyticsAll },
      { name: 'custom tenant-wide (admin)', caller: admin, id: reports.customTenant },
      // A teacher's analytics {} is personal (scope u{id}); a class distribution is shared.
      { name: 'analytics (teacher, personal)', caller: teacherA, id: reports.analyticsAll },
      { name: 'grade_distribution (teacher, shared)', caller: teacherA, id: reports.distC1 },
      {
        name: 'student_progress with filters (teacher)',
        caller: teacherA,
        id: reports.progressS1,
        query: 'from=2024-03-01&to=2024-03-31',
      },
    ]
    for (const c of cases) {
      counter.reset()
      const first = await getReport(app, c.caller, c.id, { query: c.query })
      t.equal(first.status, 200, `${c.name}: 200`)
      if (first.xCache === 'MISS') t.ok(counter.total > 0, `${c.name}: the counter sees a MISS's queries`)
      t.ok(
        first.xCache === 'MISS' || (first.xCache === 'HIT' && c.caller === teacherA),
        `${c.name}: first GET is MISS (or HIT of the admin's shared entry), got ${first.xCache}`,
      )
      // The first request of a viewer in this process loads its access and the
      // definition; from then on a warm request touches the database not once.
      const second = await getReport(app, c.caller, c.id, { query: c.query })
      counter.reset()
      const third = await getReport(app, c.caller, c.id, { query: c.query })
      t.equal(counter.total, 0, `${c.name}: a warm HIT runs zero database queries`)
      t.equal(second.xCache, 'HIT', `${c.name}: second GET is HIT`)
      t.equal(third.xCache, 'HIT', `${c.name}: third GET is HIT`)
      t.ok(second.raw.equals(first.raw), `${c.name}: HIT body is byte-identical to the MISS body`)
      t.ok(third.raw.equals(first.raw), `${c.name}: and stays so`)
      t.equal(second.etag, first.etag, `${c.name}: same ETag`)
      t.equal(third.etag, first.etag)
      t.equal(third.res.headers['last-modified'], first.res.headers['last-modified'], 'same Last-Modified')
      t.equal(third.res.headers['content-type'], 'application/json; charset=utf-8')

      // HEAD and a conditional GET are answered from the same entry, also without a query.
      counter.reset()
      const head = await getReport(app, c.caller, c.id, { query: c.query, method: 'HEAD' })
      const notModified = await getReport(app, c.caller, c.id, {
        query: c.query,
        headers: { 'if-none-match': first.etag ?? '' },
      })
      t.equal(counter.total, 0, `${c.name}: HEAD and a 304 run zero queries too`)
      t.equal(head.status, 200)
      t.equal(head.raw.length, 0, 'HEAD has no body')
      t.equal(head.etag, first.etag)
      t.equal(head.xCache, 'HIT')
      t.equal(notModified.status, 304)
      t.equal(notModified.etag, first.etag)
      t.equal(notModified.xCache, 'HIT')
    }

    // The admin's and the teacher's analytics {} are two entries with different bodies.
    const adminAnalytics = await getReport(app, admin, reports.analyticsAll)
    const teacherAnalytics = await getReport(app, teacherA, reports.analyticsAll)
    t.notOk(adminAnalytics.raw.equals(teacherAnalytics.raw), 'personal and shared bodies differ')
    t.not(adminAnalytics.etag, teacherAnalytics.etag)

    // Query order and defaults do not make another entry (filters are normalised).
    counter.reset()
    const reordered = await getReport(app, teacherA, reports.progressS1, {
      query: 'to=2024-03-31&from=2024-03-01',
    })
    t.equal(reordered.xCache, 'HIT', 'reordered filters hit the same entry')
    t.equal(counter.total, 0)
  })

  t.test(`${store} store: a fresh viewer's first request of a warm entry still checks access`, async (t) => {
    const cw = await cacheWorld(t)
    const { app } = await cacheApp(t, cw, storeOverrides(t, store))
    const reports = await createReports(app, cw)
    const { admin, teacherB, s1 } = cw.w
    t.equal((await getReport(app, admin, reports.distC1)).xCache, 'MISS')
    t.equal((await getReport(app, admin, reports.distC1)).xCache, 'HIT')
    // teacherB does not teach c1; s1 is a student: the warm entry is not theirs to see.
    for (const caller of [teacherB, s1]) {
      for (let i = 0; i < 2; i++) {
        const res = await getReport(app, caller, reports.distC1)
        t.equal(res.status, 403, `${caller.role} ${caller.id}: 403 on a warm entry (attempt ${i + 1})`)
        t.equal(res.xCache, undefined, 'no X-Cache on a refusal')
      }
    }
  })
}
