// Coalescing at the route level: 200 concurrent GETs of one cold report are
// computed once — within one app, and across two app instances that share
// Redis (same key prefix) and the database. Computations are counted as the
// report's aggregate query over `submissions` on each instance's connection.
import t, { type Test } from 'tap'
import { tallyResults } from './helpers/cache-results.js'
import {
  type CacheApp,
  type Caller,
  cacheApp,
  cacheWorld,
  createReports,
  getReport,
  privatePrefix,
  type ReportResponse,
  storeOverrides,
} from './helpers/report-cache.js'

const REQUESTS = 200

/**
 * Fires REQUESTS concurrent GETs split across the instances; `queriesPerComputation`
 * is how many queries over the work data (`submissions`, or its summary tables)
 * one computation of the report runs.
 */
const WORK_TABLES = ['submissions', 'agg_work_day', 'agg_work_tenant_day', 'agg_work_class']

async function stampede(
  t: Test,
  instances: CacheApp[],
  id: number,
  caller: Caller,
  queriesPerComputation: number,
) {
  for (const { instrumented } of instances) instrumented.counter.reset()
  const tallies = instances.map((i) => tallyResults(t, i.app.reportCache))
  const responses: ReportResponse[] = await Promise.all(
    Array.from({ length: REQUESTS }, (_, i) => getReport(instances[i % instances.length].app, caller, id)),
  )
  const computations = instances.reduce(
    (sum, i) => sum + WORK_TABLES.reduce((n, table) => n + i.instrumented.counter.touching(table), 0),
    0,
  )
  t.equal(
    computations,
    queriesPerComputation,
    `${REQUESTS} concurrent GETs on ${instances.length} instance(s): computed once`,
  )
  const misses = tallies.reduce((sum, tally) => sum + tally.total.misses, 0)
  t.equal(misses, 1, 'one MISS counted in all')
  t.ok(
    responses.every((r) => r.status === 200),
    'every request answered 200',
  )
  t.ok(
    responses.every((r) => r.raw.equals(responses[0].raw)),
    'all bodies are byte-identical',
  )
  t.ok(
    responses.every((r) => r.etag === responses[0].etag),
    'all with one ETag',
  )
  const xCache = new Set(responses.map((r) => r.xCache))
  t.ok(
    [...xCache].every((x) => x === 'MISS' || x === 'HIT'),
    `X-Cache values: ${[...xCache].join(', ')}`,
  )
  return responses
}

t.test('one instance (memory store): 200 concurrent GETs, one computation', async (t) => {
  const cw = await cacheWorld(t)
  const instance = await cacheApp(t, cw, storeOverrides(t, 'memory'))
  const reports = await createReports(instance.app, cw)
  await stampede(t, [instance], reports.distC1, cw.w.admin, 1)
})

t.test('two instances sharing Redis and Postgres: 200 concurrent GETs, one computation', async (t) => {
  const cw = await cacheWorld(t)
  const prefix = privatePrefix(t)
  const a = await cacheApp(t, cw, storeOverrides(t, 'redis', prefix))
  const b = await cacheApp(t, cw, storeOverrides(t, 'redis', prefix))
  const reports = await createReports(a.app, cw)
  const responses = await stampede(t, [a, b], reports.distC1, cw.w.admin, 1)
  // Each instance answered its half, so the lease did not just make one of them do all the work.
  t.equal(responses.filter((_, i) => i % 2 === 1).length, REQUESTS / 2)
  // And both now hit the one entry.
  for (const instance of [a, b]) {
    const res = await getReport(instance.app, cw.w.admin, reports.distC1)
    t.equal(res.xCache, 'HIT')
    t.ok(res.raw.equals(responses[0].raw))
  }

  // The same for a teacher's personal report (scope u{id}); analytics reads
  // submissions twice per computation (series and top classes).
  await stampede(t, [a, b], reports.analyticsAll, cw.w.teacherA, 2)
})
