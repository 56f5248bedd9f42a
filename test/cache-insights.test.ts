// GET /cache/insights: per type hit rate and computation time, the reports
// that cost the most computation with their own hit rate, the hottest keys
// without bodies, and the recent invalidations (from the invalidation events),
// for the caller's tenant only.
import t from 'tap'
import { bearer, buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import { createReport, getReport } from './helpers/reports.js'
import { addAssignment, addSubmission, buildWorld } from './helpers/world.js'

t.test('insights of a tenant', async (t) => {
  const db = await createTestDatabase(t)
  const w = await buildWorld(db.db)
  const a1 = await addAssignment(db.db, w.tenant1, w.c1, 10, '2024-03-10T00:00:00Z', 'a1')
  await addSubmission(db.db, w.tenant1, a1, w.s1.id, '2024-03-09T00:00:00Z', 8)
  const app = await buildTestApp(t, db)
  const insights = async (user = w.admin) => {
    const res = await app.inject({ url: '/cache/insights', headers: bearer(user) })
    t.equal(res.statusCode, 200, res.body)
    return res.json()
  }
  const A = await createReport(app, w.admin, 'analytics', {})
  const C = await createReport(app, w.admin, 'custom', { metric: 'avg_score', group_by: 'class' })
  t.equal((await getReport(app, w.admin, A)).headers['x-cache'], 'MISS')
  t.equal((await getReport(app, w.admin, A)).headers['x-cache'], 'HIT')
  t.equal((await getReport(app, w.admin, A)).headers['x-cache'], 'HIT')
  t.equal((await getReport(app, w.admin, C)).headers['x-cache'], 'MISS')

  const s = await insights()
  t.match(s.by_type.analytics, {
    requests: 3,
    hit_rate: 66.67,
    computations: 1,
    p50_ms: Number,
    p95_ms: Number,
  })
  t.match(s.by_type.custom, { requests: 1, hit_rate: 0, computations: 1 })
  t.same(
    s.top_reports.map((r: { report_id: number }) => r.report_id).sort(),
    [A, C].sort(),
    'both computed reports',
  )
  t.match(
    s.top_reports.find((r: { report_id: number }) => r.report_id === A),
    { type: 'analytics', computations: 1, requests: 3, hit_rate: 66.67, compute_ms: Number },
  )
  t.match(s.hottest_keys[0], { key: new RegExp(`^report:\\{[^}]+\\}:${A}:`), type: 'analytics', requests: 3 })
  t.notMatch(JSON.stringify(s.hottest_keys), /"body"|"data"/, 'names only, no bodies')
  // Largest keys: sizes of the bodies served, biggest first, no bodies.
  const bodyA = Buffer.byteLength((await getReport(app, w.admin, A)).body)
  const again = await insights()
  const sizes = again.largest_keys.map((k: { bytes: number }) => k.bytes)
  t.same(
    sizes,
    [...sizes].sort((a: number, b: number) => b - a),
    'largest first',
  )
  t.match(
    again.largest_keys.find((k: { key: string }) => k.key === s.hottest_keys[0].key),
    { type: 'analytics', bytes: bodyA },
    "the analytics key with its body's size",
  )
  t.notMatch(JSON.stringify(again.largest_keys), /"body"|"data"/, 'names and sizes only')

  const one = await app.inject({ method: 'DELETE', url: `/cache/reports/${A}`, headers: bearer(w.admin) })
  t.equal(one.statusCode, 200)
  const all = await app.inject({ method: 'DELETE', url: '/cache', headers: bearer(w.admin) })
  t.equal(all.statusCode, 200)
  const after = await insights()
  // Every bump is listed: the two definitions created, then the two admin invalidations.
  t.same(
    after.invalidations.map((i: { reason: string }) => i.reason),
    ['admin.tenant', 'admin.report', 'report.create', 'report.create'],
    'recent invalidations, newest first',
  )
  t.match(after.invalidations[0], { reason: 'admin.tenant', tags: ['*'], delivered: true, at: String })
  t.ok(
    after.invalidations[1].tags.includes(`report:${A}`),
    `the report's tag (${after.invalidations[1].tags})`,
  )
  t.ok(after.invalidations[3].tags.includes(`report:${A}`), 'the creation of A logged its tag')
  t.ok(Date.parse(after.invalidations[0].at) >= Date.parse(after.invalidations[1].at), 'newest first')

  const other = await insights(w.admin2)
  t.same(
    other,
    { by_type: {}, top_reports: [], hottest_keys: [], largest_keys: [], invalidations: [] },
    "another tenant's own",
  )
  const teacher = await app.inject({ url: '/cache/insights', headers: bearer(w.teacherA) })
  t.equal(teacher.statusCode, 403)
})
