// GET /metrics: Prometheus text of this app's own registry: request latency by
// route pattern and status, report GETs by type and result, coalesced waits,
// computation time, invalidations by reason, store errors and breaker state.
import { once } from 'node:events'
import { createServer } from 'node:net'
import t from 'tap'
import type { App } from '../src/app.js'
import { until } from './cache/store-contract.js'
import { bearer, buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import { holdComputations } from './helpers/hold-computations.js'
import { createReport, getReport } from './helpers/reports.js'
import { addAssignment, addSubmission, buildWorld } from './helpers/world.js'

async function scrape(app: App): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  if (res.statusCode !== 200) throw new Error(`/metrics: ${res.statusCode}`)
  return res.body
}

/** The value of one sample, or undefined when absent. Labels must match exactly (any order). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have = (m[2] ?? '')
      .split(/,(?=[a-z_]+=")/)
      .filter(Boolean)
      .sort()
    if (have.length === wanted.length && have.every((l, i) => l === wanted[i])) return Number(m[3])
  }
  return undefined
}

t.test('metrics of an app on the memory store', async (t) => {
  const handle = await createTestDatabase(t)
  const w = await buildWorld(handle.db)
  const a1 = await addAssignment(handle.db, w.tenant1, w.c1, 10, '2024-03-10T00:00:00Z', 'a1')
  await addSubmission(handle.db, w.tenant1, a1, w.s1.id, '2024-03-09T00:00:00Z', 8)
  const app = await buildTestApp(t, handle)
  const other = await buildTestApp(t, handle)
  const A = await createReport(app, w.admin, 'analytics', {})

  const first = await getReport(app, w.admin, A)
  t.equal(first.headers['x-cache'], 'MISS')
  t.equal((await getReport(app, w.admin, A)).headers['x-cache'], 'HIT')
  const conditional = await app.inject({
    method: 'GET',
    url: `/reports/${A}`,
    headers: { ...bearer(w.admin), 'if-none-match': first.headers.etag as string },
  })
  t.equal(conditional.statusCode, 304)
  // Two GETs of a new key at once: the second waits on the first's computation.
  const held = holdComputations(app)
  const one = getReport(app, w.admin, A, 'granularity=month')
  await until(() => held.computing === 1, 'the computation to start')
  const reads = held.reads
  const two = getReport(app, w.admin, A, 'granularity=month')
  await until(() => held.reads > reads, 'the second request to reach the cache')
  held.release()
  await Promise.all([one, two])

  const graded = await app.inject({
    method: 'POST',
    url: '/submissions',
    headers: bearer(w.admin),
    payload: { assignment_id: a1, student_id: w.s2.id },
  })
  t.equal(graded.statusCode, 201)
  t.equal((await app.inject({ method: 'DELETE', url: '/cache', headers: bearer(w.admin) })).statusCode, 200)
  const dropReport = await app.inject({
    method: 'DELETE',
    url: `/cache/reports/${A}`,
    headers: bearer(w.admin),
  })
  t.equal(dropReport.statusCode, 200)

  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200, 'no token needed')
  t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  const text = res.body
  t.match(text, /^# TYPE http_request_duration_seconds histogram$/m)

  const http = (route: string, status: string, method = 'GET') =>
    sample(text, 'http_request_duration_seconds_count', { method, route, status_code: status })
  t.equal(http('/reports/:id', '200'), 4, 'report GETs by route pattern and status')
  t.equal(http('/reports/:id', '304'), 1)
  t.equal(http('/submissions', '201', 'POST'), 1)
  t.notMatch(text, /route="\/reports\/\d/, 'never the raw URL')
  t.ok(
    (sample(text, 'http_request_duration_seconds_sum', {
      method: 'GET',
      route: '/reports/:id',
      status_code: '200',
    }) ?? 0) > 0,
  )

  const answered = (result: string) =>
    sample(text, 'report_cache_requests_total', { type: 'analytics', result })
  t.equal(answered('miss'), 2)
  t.equal(answered('hit'), 1)
  t.equal(answered('not_modified'), 1)
  t.equal(answered('coalesced'), 1)
  t.equal(sample(text, 'report_cache_coalesced_waits_total', { type: 'analytics' }), 1)
  t.equal(
    sample(text, 'report_computation_duration_seconds_count', { type: 'analytics', outcome: 'ok' }),
    2,
    'two computations, one per key',
  )
  t.equal(sample(text, 'report_cache_invalidations_total', { reason: 'submission.create' }), 1)
  t.equal(sample(text, 'report_cache_invalidations_total', { reason: 'admin.tenant' }), 1)
  t.equal(sample(text, 'report_cache_invalidations_total', { reason: 'admin.report' }), 1)
  t.equal(sample(text, 'report_cache_store_errors_total', { backend: 'memory' }), 0)
  t.equal(sample(text, 'report_cache_breaker_state'), 0)
  t.equal(sample(text, 'report_cache_degraded'), 0)

  // Each app has its own registry.
  const otherText = await scrape(other)
  t.equal(sample(otherText, 'report_cache_requests_total', { type: 'analytics', result: 'miss' }), undefined)
  t.equal(
    sample(otherText, 'http_request_duration_seconds_count', {
      method: 'GET',
      route: '/reports/:id',
      status_code: '200',
    }),
    undefined,
  )
  // Counters only grow between scrapes.
  t.equal(sample(await scrape(app), 'report_cache_requests_total', { type: 'analytics', result: 'miss' }), 2)
})

t.test('Redis unreachable: store errors, open breaker, BYPASS counted', async (t) => {
  // A port nothing listens on.
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as { port: number }
  probe.close()
  await once(probe, 'close')

  const handle = await createTestDatabase(t)
  const w = await buildWorld(handle.db)
  const app = await buildTestApp(t, handle, { redisUrl: `redis://127.0.0.1:${port}` })
  const A = await createReport(app, w.admin, 'analytics', {})
  for (let i = 0; i < 4; i++) t.equal((await getReport(app, w.admin, A)).headers['x-cache'], 'BYPASS')

  const text = await scrape(app)
  t.equal(sample(text, 'report_cache_requests_total', { type: 'analytics', result: 'bypass' }), 4)
  t.ok(
    (sample(text, 'report_cache_store_errors_total', { backend: 'redis' }) ?? 0) >= 3,
    'store errors counted',
  )
  t.equal(sample(text, 'report_cache_breaker_state'), 2, 'breaker open')
  t.equal(sample(text, 'report_cache_degraded'), 1)
  // The client retries in the background; each refused attempt is one error.
  const errors = await until(async () => {
    const n = sample(await scrape(app), 'redis_connection_errors_total') ?? 0
    return n >= 1 ? n : undefined
  }, 'a connection error to be counted')
  t.ok(errors >= 1, 'connection errors counted')

  // The hit rate falls back to this instance's own counts.
  const rate = await app.inject({ method: 'GET', url: '/cache/hit-rate', headers: bearer(w.admin) })
  t.match(rate.json(), { source: 'instance', bypass: 4, total_requests: 4, hit_rate: 0 })
  const stats = await app.inject({ method: 'GET', url: '/cache/stats', headers: bearer(w.admin) })
  t.match(stats.json(), { backend: 'redis', status: 'degraded', keys: null, memory_bytes: null })
})

t.test('process metrics and the build-info gauge', async (t) => {
  const handle = await createTestDatabase(t)
  const app = await buildTestApp(t, handle)
  const text = await scrape(app)
  for (const name of [
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_seconds',
  ]) {
    t.match(text, new RegExp(`^${name} \\d`, 'm'), `${name} is exported`)
  }
  const info = /^report_service_build_info\{(.*)\} 1$/m.exec(text)
  t.ok(info, 'report_service_build_info is 1')
  t.match(info?.[1], /version="0\.1\.0"/, 'with the package version')
  t.match(info?.[1], new RegExp(`node_version="${process.version}"`), 'and the Node version')
})
