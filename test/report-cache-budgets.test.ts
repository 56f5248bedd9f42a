// Byte budgets at the route level: one user flooding the cache with distinct
// filters keeps at most its budget and evicts only its own entries; another
// user's entry and another tenant's stay warm. On both stores.
import t from 'tap'
import { bearer } from './helpers/app.js'
import {
  cacheApp,
  cacheWorld,
  createReports,
  getReport,
  STORES,
  storeOverrides,
} from './helpers/report-cache.js'
import { createReport } from './helpers/reports.js'

const USER_MAX_BYTES = 8 * 1024
const TENANT_MAX_BYTES = 64 * 1024

for (const store of STORES) {
  t.test(`${store} store: one user cannot evict another's entries`, async (t) => {
    const cw = await cacheWorld(t)
    const { app } = await cacheApp(t, cw, {
      ...storeOverrides(t, store),
      cacheUserMaxBytes: USER_MAX_BYTES,
      cacheTenantMaxBytes: TENANT_MAX_BYTES,
    })
    const reports = await createReports(app, cw)
    const { admin, teacherA, admin2 } = cw.w
    const other = await createReport(app, admin2, 'analytics', {})

    // The victims: a teacher's personal entry in tenant 1, an admin's in tenant 2.
    await getReport(app, teacherA, reports.analyticsAll)
    await getReport(app, admin2, other)
    t.equal((await getReport(app, teacherA, reports.analyticsAll)).xCache, 'HIT')
    t.equal((await getReport(app, admin2, other)).xCache, 'HIT')

    // The flood: 60 distinct filter sets, each a new entry of the admin's.
    for (let day = 1; day <= 60; day++) {
      const from = `2024-01-${String(((day - 1) % 28) + 1).padStart(2, '0')}`
      const to = `2024-${String(Math.floor((day - 1) / 28) + 3).padStart(2, '0')}-01`
      const res = await getReport(app, admin, reports.analyticsAll, { query: `from=${from}&to=${to}` })
      t.equal(res.status, 200)
    }
    const stats = await app.inject({ method: 'GET', url: '/cache/stats', headers: bearer(admin) })
    const bytes = stats.json().memory_bytes as number
    t.ok(bytes <= TENANT_MAX_BYTES, `tenant 1 holds at most its budget (${bytes} bytes)`)
    t.equal((await getReport(app, teacherA, reports.analyticsAll)).xCache, 'HIT', "the teacher's entry stays")
    t.equal((await getReport(app, admin2, other)).xCache, 'HIT', "tenant 2's entry stays")
    // The flooder's first entries went (its budget holds only a few).
    const first = await getReport(app, admin, reports.analyticsAll, {
      query: 'from=2024-01-01&to=2024-03-01',
    })
    t.equal(first.xCache, 'MISS', "the flooder's oldest entry was evicted")
  })
}
