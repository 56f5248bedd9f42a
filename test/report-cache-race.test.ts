// Race freedom at the route level.
// 1. The classic cache-aside race, reproduced with a latch: a cold GET reads
//    the submissions and is held before it can store; a grade commits through
//    the API meanwhile; once released, the old result is never served again,
//    and a reader that arrived after the grade does not join the old computation.
// 2. Randomized (test/helpers/grade-race.ts): graders and readers run
//    concurrently for a few seconds; every read must reflect each grade
//    acknowledged before the read started.
// Both on the memory store and on Redis (there with two app instances).
import t from 'tap'
import type { App } from '../src/app.js'
import { raceGradesAndReads, raceTargets } from './helpers/grade-race.js'
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

interface Distribution {
  count: number
  mean: number | null
}

const SUBMISSIONS_QUERY = /\bsubmissions\b/

for (const store of STORES) {
  t.test(`${store} store: a computation held across a grade never leaves a stale entry`, async (t) => {
    const cw = await cacheWorld(t)
    const prefix = store === 'redis' ? privatePrefix(t) : undefined
    // On Redis the GET runs on one instance and the grade goes through another.
    const reader = await cacheApp(t, cw, storeOverrides(t, store, prefix))
    const writer = store === 'redis' ? await cacheApp(t, cw, storeOverrides(t, store, prefix)) : reader
    const reports = await createReports(reader.app, cw)
    const { admin } = cw.w
    const id = reports.distC1
    const before = (await freshData(cw.db, admin, id)) as Distribution

    const held = reader.instrumented.holdNext(SUBMISSIONS_QUERY)
    const slow = getReport(reader.app, admin, id)
    await held.reached
    // The slow reader has read the pre-grade rows; now a grade commits and is acknowledged.
    const graded = await mutateOk(writer.app, admin, 'PATCH', `/submissions/${cw.subS1A1}`, { score: 1 })
    t.equal(graded.statusCode, 200)
    const after = (await freshData(cw.db, admin, id)) as Distribution
    t.notSame(after, before, 'the grade changes the distribution')

    // A reader that starts after the grade must not share the held computation.
    const late = getReport(reader.app, admin, id)
    await until(() => reader.app.reportCache.inFlight >= 2, 'the late reader to start its own computation')

    const refusedBefore = reader.app.reportCache.counters.events.refusedWrites
    held.release()
    const stale = await slow
    t.equal(stale.status, 200)
    t.same(stale.data, before, 'the held reader answers what it read (it started before the grade)')
    t.equal(
      reader.app.reportCache.counters.events.refusedWrites,
      refusedBefore + 1,
      "the store refused the held reader's entry",
    )
    const lateRes = await late
    t.equal(lateRes.status, 200)
    t.same(lateRes.data, after, 'the late reader got the graded data')

    // Every later read, on both instances, shows the grade; the stale body is never a HIT.
    for (const app of new Set([reader.app, writer.app])) {
      for (let i = 0; i < 3; i++) {
        const res = await getReport(app, admin, id)
        t.same(res.data, after, `read ${i + 1} shows the grade`)
        t.not(res.etag, stale.etag, 'never the ETag of the stale body')
        t.ok(res.xCache === 'HIT' || res.xCache === 'MISS', `X-Cache ${res.xCache}`)
      }
    }
    const conditional = await getReport(reader.app, admin, id, {
      headers: { 'if-none-match': stale.etag ?? '' },
    })
    t.equal(conditional.status, 200, 'the stale ETag gets 200, not 304')
  })

  t.test(`${store} store: randomized graders and readers see no stale read`, async (t) => {
    const cw = await cacheWorld(t)
    const prefix = store === 'redis' ? privatePrefix(t) : undefined
    const first = await cacheApp(t, cw, storeOverrides(t, store, prefix))
    const apps: App[] = [first.app]
    if (store === 'redis') apps.push((await cacheApp(t, cw, storeOverrides(t, store, prefix))).app)
    const admin = cw.w.admin

    // Three classes, each with one graded submission: the class distribution's mean is that score / 10.
    const targets = await raceTargets(first.app, cw, 3)
    const deadline = Date.now() + 2500
    const race = await raceGradesAndReads({
      apps,
      cw,
      targets,
      until: () => Date.now() >= deadline,
      graders: 3,
      readers: 4,
    })
    t.same(race.failures, [], 'every request answered 2xx')
    const hits = race.reads.filter((r) => r.xCache === 'HIT').length
    t.comment(`${race.grades} grades, ${race.reads.length} reads (${hits} HIT), ${race.stale.length} stale`)
    t.ok(race.grades >= 10, 'graders made progress')
    t.ok(race.reads.length >= 20, 'readers made progress')
    t.ok(hits > 0, 'some reads were answered from the cache')
    t.same(race.stale, [], 'no read older than an acknowledged grade')

    // Afterwards every report shows exactly the last grade of its submission.
    for (const [k, target] of targets.entries()) {
      for (const app of apps) {
        const res = await getReport(app, admin, target.report)
        t.equal(
          Math.round(((res.data as Distribution).mean ?? -1) * 10),
          race.lastScores[k],
          `class ${k}: last grade`,
        )
      }
    }
  })
}
