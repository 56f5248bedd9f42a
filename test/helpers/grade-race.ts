// Graders and readers racing on several app instances, and the stale-read
// check: a read may show a grade only when no grade acknowledged before the
// read started superseded it (or when that grade was still in flight during
// the read). Every response is recorded with
// its time, so a test can say what happened around an event (a failover).
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { App } from '../../src/app.js'
import { bearer } from './app.js'
import { type CacheWorld, getReport } from './report-cache.js'
import { addClass, createReport, enroll } from './reports.js'
import { addAssignment, addSubmission } from './world.js'

export interface Target {
  report: number
  submission: number
}

export interface RaceRead {
  k: number
  start: number
  end: number
  /** Wall-clock times (ms) the request was sent and answered. */
  startedAt: number
  at: number
  score: number
  status: number
  xCache: string
}

export interface RaceResult {
  reads: RaceRead[]
  grades: number
  /** Responses with a status >= 500 (reads and writes). */
  errors5xx: number
  /** Non-2xx responses of any kind, described. */
  failures: string[]
  /** Writes answered with X-Invalidation: pending. */
  pending: number
  stale: RaceRead[]
  /** Per target, the score of the write acknowledged last: what every report shows afterwards. */
  lastScores: number[]
}

/** K classes of one graded submission each, and a grade distribution report on each (mean = score / 10). */
export async function raceTargets(app: App, cw: CacheWorld, k = 3): Promise<Target[]> {
  const T = cw.w.tenant1
  const targets: Target[] = []
  for (let i = 0; i < k; i++) {
    const klass = await addClass(cw.db.db, T, `Race ${i}`, cw.w.teacherA.id)
    const student = [cw.w.s1, cw.w.s2, cw.w.s3][i % 3]
    await enroll(cw.db.db, T, klass, student.id)
    const assignment = await addAssignment(cw.db.db, T, klass, 1000, '2024-05-01T00:00:00Z')
    const submission = await addSubmission(cw.db.db, T, assignment, student.id, '2024-04-01T00:00:00Z', 0)
    targets.push({
      report: await createReport(app, cw.w.admin, 'grade_distribution', { class_id: klass }),
      submission,
    })
  }
  return targets
}

/** Runs `graders` and `readers` loops on random instances until `until()` says stop. */
export async function raceGradesAndReads(options: {
  apps: App[]
  cw: CacheWorld
  targets: Target[]
  until: () => boolean
  graders?: number
  readers?: number
  onRead?: (read: RaceRead) => void
}): Promise<RaceResult> {
  const { apps, targets } = options
  const admin = options.cw.w.admin
  const K = targets.length
  let tick = 0
  interface Write {
    k: number
    score: number
    sent: number
    acked: number
  }
  const writes: Write[] = targets.map((_, k) => ({ k, score: 0, sent: -2, acked: -1 }))
  const reads: RaceRead[] = []
  const failures: string[] = []
  let errors5xx = 0
  let pending = 0
  const random = (n: number) => Math.floor(Math.random() * n)

  const grader = async () => {
    while (!options.until()) {
      const k = random(K)
      const score = random(1001)
      const write: Write = { k, score, sent: tick++, acked: Number.POSITIVE_INFINITY }
      writes.push(write)
      const res = await apps[random(apps.length)].inject({
        method: 'PATCH',
        url: `/submissions/${targets[k].submission}`,
        headers: bearer(admin),
        payload: { score },
      })
      if (res.statusCode >= 500) errors5xx++
      if (res.headers['x-invalidation'] === 'pending') pending++
      if (res.statusCode !== 200) failures.push(`PATCH ${res.statusCode} ${res.body}`)
      else write.acked = tick++
    }
  }
  const reader = async () => {
    while (!options.until()) {
      const k = random(K)
      const start = tick++
      const startedAt = Date.now()
      const res = await getReport(apps[random(apps.length)], admin, targets[k].report)
      const end = tick++
      if (res.status >= 500) errors5xx++
      if (res.status !== 200) {
        failures.push(`GET ${res.status}`)
        continue
      }
      const data = res.data as { mean: number | null }
      const read: RaceRead = {
        k,
        start,
        end,
        startedAt,
        at: Date.now(),
        score: Math.round((data.mean ?? -1) * 10),
        status: res.status,
        xCache: res.xCache ?? '',
      }
      reads.push(read)
      options.onRead?.(read)
      await nextTurn()
    }
  }
  await Promise.all([
    ...Array.from({ length: options.graders ?? 2 }, grader),
    ...Array.from({ length: options.readers ?? 4 }, reader),
  ])

  const stale: RaceRead[] = []
  for (const read of reads) {
    const mine = writes.filter((w) => w.k === read.k)
    const done = mine.filter((w) => w.acked < read.start)
    const allowed = new Set<number>()
    for (const w of done) if (!done.some((q) => q.sent > w.acked)) allowed.add(w.score)
    for (const w of mine) if (w.acked >= read.start && w.sent < read.end) allowed.add(w.score)
    if (!allowed.has(read.score)) stale.push(read)
  }
  const lastScores = targets.map(
    (_, k) =>
      writes.filter((w) => w.k === k && Number.isFinite(w.acked)).sort((a, b) => b.acked - a.acked)[0].score,
  )
  return { reads, grades: writes.length - K, errors5xx, failures, pending, stale, lastScores }
}
