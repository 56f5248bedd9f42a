// A stuck Redis (a private redis-server frozen with SIGSTOP: connections stay
// open, commands hang) never makes a report GET wait longer than the command
// timeout plus the uncached computation: a request waits on the store once at
// most (the hit path's read), then computes from Postgres (BYPASS) without
// asking the stuck store again. Warm and cold callers alike; every answer is
// 200 with current data. The bound is relative to the configured timeout, not
// a micro-timing: before this rule a request waited several timeouts.
import t from 'tap'
import { startRedisServer } from './helpers/redis-server.js'
import { cacheApp, cacheWorld, createReports, freshData, getReport } from './helpers/report-cache.js'

const COMMAND_TIMEOUT_MS = 400

t.test('SIGSTOP: p99 during the pause stays within the timeout plus the computation', async (t) => {
  const redis = await startRedisServer(t)
  t.teardown(() => {
    if (redis.paused) redis.resume()
  })
  const cw = await cacheWorld(t)
  const { app } = await cacheApp(t, cw, {
    redisUrl: redis.url,
    redisPrefix: 'rc-stall:',
    redisCommandTimeoutMs: COMMAND_TIMEOUT_MS,
  })
  const reports = await createReports(app, cw)
  const { admin, teacherA, parent } = cw.w
  const warm = [reports.distC1, reports.analyticsAll, reports.customTenant, reports.progressS1]
  for (const id of warm) {
    await getReport(app, admin, id)
    t.equal((await getReport(app, admin, id)).xCache, 'HIT', `report ${id} warm`)
  }
  const expected = new Map<number, unknown>()
  for (const id of warm) expected.set(id, await freshData(cw.db, admin, id))
  const forParent = await freshData(cw.db, parent, reports.progressS1)
  // The uncached computation of the same requests at the same concurrency, on
  // this machine now (the other half of the bound): the slowest of three waves.
  let computeMs = 0
  for (let round = 0; round < 3; round++) {
    const started = performance.now()
    await Promise.all([
      ...warm.map((id) => freshData(cw.db, admin, id)),
      freshData(cw.db, parent, reports.progressS1),
      freshData(cw.db, teacherA, reports.analyticsAll),
    ])
    computeMs = Math.max(computeMs, performance.now() - started)
  }

  redis.pause()
  const durations: number[] = []
  const timed = async (run: () => Promise<void>) => {
    const started = performance.now()
    await run()
    durations.push(performance.now() - started)
  }
  // Concurrent warm callers (their first reads hang until the timeout), a cold
  // caller (no hints in this process: its loads must not each wait), and more
  // requests once the breaker has opened.
  for (let wave = 0; wave < 3; wave++) {
    await Promise.all([
      ...warm.map((id) =>
        timed(async () => {
          const res = await getReport(app, admin, id)
          t.equal(res.status, 200)
          t.equal(res.xCache, 'BYPASS', `report ${id} while Redis is frozen`)
          t.same(res.data, expected.get(id), 'current data')
        }),
      ),
      timed(async () => {
        const res = await getReport(app, parent, reports.progressS1)
        t.equal(res.status, 200, 'a caller this process has not seen yet')
        t.same(res.data, forParent)
      }),
      timed(async () => {
        const res = await getReport(app, teacherA, reports.analyticsAll)
        t.equal(res.status, 200, "a teacher's personal view of a tenant-wide report")
      }),
    ])
  }
  redis.resume()

  durations.sort((a, b) => a - b)
  const p99 = durations[Math.min(durations.length - 1, Math.ceil(durations.length * 0.99) - 1)]
  const bound = COMMAND_TIMEOUT_MS * 1.5 + 2 * computeMs
  t.comment(
    `${durations.length} requests during the pause: p50 ${durations[durations.length >> 1].toFixed(0)} ms, ` +
      `p99 ${p99.toFixed(0)} ms; timeout ${COMMAND_TIMEOUT_MS} ms, uncached wave ≤ ${computeMs.toFixed(0)} ms`,
  )
  t.ok(
    p99 < bound,
    `p99 ${p99.toFixed(0)} ms < 1.5 × the command timeout + 2 × the uncached wave (${bound.toFixed(0)} ms)`,
  )
})
