// Memory bounds at the HTTP level: a report whose body is above the configured
// entry size (CACHE_MAX_ENTRY_BYTES → cacheMaxEntryBytes) is served uncached,
// X-Cache BYPASS every time, and nothing is stored for it; a smaller report
// under the same limit is cached as usual.
import t from 'tap'
import { reportKeyPrefix } from '../src/cache/keys.js'
import {
  cacheApp,
  cacheWorld,
  createReports,
  freshData,
  getReport,
  privatePrefix,
  STORES,
  storeOverrides,
} from './helpers/report-cache.js'

for (const store of STORES) {
  t.test(`${store} store: reports above cacheMaxEntryBytes are served BYPASS and not stored`, async (t) => {
    const cw = await cacheWorld(t)
    const { admin } = cw.w
    // Measure two bodies with the default limit first.
    const probe = await cacheApp(t, cw, storeOverrides(t, store))
    const reports = await createReports(probe.app, cw)
    const sizes: { id: number; bytes: number }[] = []
    for (const id of Object.values(reports)) {
      sizes.push({ id, bytes: (await getReport(probe.app, admin, id)).raw.length })
    }
    sizes.sort((a, b) => a.bytes - b.bytes)
    const [small, smallBytes] = [sizes[0].id, sizes[0].bytes]
    const [large, largeBytes] = [sizes[sizes.length - 1].id, sizes[sizes.length - 1].bytes]
    t.ok(smallBytes < largeBytes, `bodies of ${smallBytes} to ${largeBytes} bytes`)
    const limit = Math.floor((smallBytes + largeBytes) / 2)

    const prefix = store === 'redis' ? privatePrefix(t) : undefined
    const { app } = await cacheApp(t, cw, { ...storeOverrides(t, store, prefix), cacheMaxEntryBytes: limit })
    const expected = await freshData(cw.db, admin, large)
    for (let i = 0; i < 3; i++) {
      const res = await getReport(app, admin, large)
      t.equal(res.status, 200)
      t.equal(res.xCache, 'BYPASS', `GET ${i + 1} of the ${largeBytes}-byte report (limit ${limit}): BYPASS`)
      t.same(res.data, expected)
      t.ok(res.etag, 'still with an ETag')
    }
    // A conditional GET on an uncached report is still answered (computed, then compared).
    const etag = (await getReport(app, admin, large)).etag ?? ''
    const conditional = await getReport(app, admin, large, { headers: { 'if-none-match': etag } })
    t.ok([200, 304].includes(conditional.status), `conditional GET answered ${conditional.status}`)
    t.equal(conditional.xCache, 'BYPASS')

    const cache = app.reportCache
    t.equal(
      await cache.countEntries(cw.w.tenant1, reportKeyPrefix(cw.w.tenant1, large)),
      0,
      'nothing stored for it',
    )
    t.ok(cache.counters.events.oversize >= 3, 'counted as oversize')

    // The small report is cached under the same limit.
    t.equal((await getReport(app, admin, small)).xCache, 'MISS')
    t.equal((await getReport(app, admin, small)).xCache, 'HIT')
    t.equal(
      await cache.countEntries(cw.w.tenant1, reportKeyPrefix(cw.w.tenant1, small)),
      1,
      'the small one is stored',
    )
  })
}
