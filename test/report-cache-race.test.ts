// Race freedom at the route level.
// 1. The classic cache-aside race, reproduced with a latch: a cold GET reads
//    the submissions and is held before it can store; a grade commits through
//    the API meanwhile; once released, the old result is never served again,
//    and a reader that arrived after the grade does not join the old computation.
// 2. Randomized: graders and readers run concurrently for a few seconds; every
//    read must reflect each grade acknowledged before the read started.
// Both on the memory store and on Redis (there with two app instances).
import { setImmediate as nextTurn } from 'node:timers/promises'
import t from 'tap'
import type { App } from '../src/app.js'
import { bearer } from './helpers/app.js'
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
import { addClass, createReport, enroll } from './helpers/reports.js'
import { addAssignment, addSubmission } from './helpers/world.js'

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
    const T = cw.w.tenant1

    // K classes, each with one graded submission: the class distribution's mean is that score / 10.
    const K = 3
    const targets: { report: number; submission: number }[] = []
    for (let k = 0; k < K; k++) {
      const klass = await addClass(cw.db.db, T, `Race ${k}`, cw.w.teacherA.id)
      const student = [cw.w.s1, cw.w.s2, cw.w.s3][k]
      await enroll(cw.db.db, T, klass, student.id)
      const assignment = await addAssignment(cw.db.db, T, klass, 1000, '2024-05-01T00:00:00Z')
      const submission = await addSubmission(cw.db.db, T, assignment, student.id, '2024-04-01T00:00:00Z', 0)
      const report = await createReport(first.app, admin, 'grade_distribution', { class_id: klass })
      targets.push({ report, submission })
    }

    let tick = 0
    interface Write {
      k: number
      score: number
      sent: number
      acked: number
    }
    interface Read {
      k: number
      start: number
      end: number
      score: number
      xCache: string
    }
    // Each submission starts at 0: an initial write acknowledged before everything.
    const writes: Write[] = targets.map((_, k) => ({ k, score: 0, sent: -2, acked: -1 }))
    const reads: Read[] = []
    const errors: string[] = []
    const random = (n: number) => Math.floor(Math.random() * n)
    const deadline = Date.now() + 2500

    const grader = async () => {
      while (Date.now() < deadline) {
        const k = random(K)
        const score = random(1001)
        const app = apps[random(apps.length)]
        const write: Write = { k, score, sent: tick++, acked: Number.POSITIVE_INFINITY }
        writes.push(write)
        const res = await app.inject({
          method: 'PATCH',
          url: `/submissions/${targets[k].submission}`,
          headers: bearer(admin),
          payload: { score },
        })
        if (res.statusCode !== 200) errors.push(`PATCH ${res.statusCode} ${res.body}`)
        else write.acked = tick++
      }
    }
    const readerLoop = async () => {
      while (Date.now() < deadline) {
        const k = random(K)
        const app = apps[random(apps.length)]
        const start = tick++
        const res = await getReport(app, admin, targets[k].report)
        const end = tick++
        if (res.status !== 200) {
          errors.push(`GET ${res.status}`)
          continue
        }
        const data = res.data as Distribution
        reads.push({ k, start, end, score: Math.round((data.mean ?? -1) * 10), xCache: res.xCache ?? '' })
        // A memory-store HIT never leaves the microtask queue: let the graders' I/O run.
        await nextTurn()
      }
    }
    await Promise.all([grader(), grader(), grader(), readerLoop(), readerLoop(), readerLoop(), readerLoop()])
    t.same(errors, [], 'every request answered 2xx')

    // A value may be read when its write is not superseded by a write acknowledged
    // before the read started (superseded: the later write was sent after the earlier
    // one's acknowledgement), or when its write was still in flight during the read.
    const staleReads: Read[] = []
    for (const read of reads) {
      const mine = writes.filter((w) => w.k === read.k)
      const done = mine.filter((w) => w.acked < read.start)
      const allowed = new Set<number>()
      for (const w of done) if (!done.some((q) => q.sent > w.acked)) allowed.add(w.score)
      for (const w of mine) if (w.acked >= read.start && w.sent < read.end) allowed.add(w.score)
      if (!allowed.has(read.score)) staleReads.push(read)
    }
    const hits = reads.filter((r) => r.xCache === 'HIT').length
    t.comment(`${writes.length - K} grades, ${reads.length} reads (${hits} HIT), ${staleReads.length} stale`)
    t.ok(writes.length - K >= 10, 'graders made progress')
    t.ok(reads.length >= 20, 'readers made progress')
    t.ok(hits > 0, 'some reads were answered from the cache')
    t.same(staleReads, [], 'no read older than an acknowledged grade')

    // Afterwards every report shows exactly the last grade of its submission.
    for (const [k, target] of targets.entries()) {
      const last = writes.filter((w) => w.k === k).sort((a, b) => b.acked - a.acked)[0]
      for (const app of apps) {
        const res = await getReport(app, admin, target.report)
        t.equal(
          Math.round(((res.data as Distribution).mean ?? -1) * 10),
          last.score,
          `class ${k}: last grade`,
        )
      }
    }
  })
}
