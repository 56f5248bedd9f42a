// undici 7's RFC 9111 client cache (interceptors.cache, private) against a
// listening server: the second GET is revalidated (If-None-Match → 304) and
// yields the cached body; after a mutation the same client gets the new body.
import t from 'tap'
import { Agent, cacheStores, interceptors, request } from 'undici'
import { tokenFor } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import { listenTestApp } from './helpers/http-server.js'
import { createReport } from './helpers/reports.js'
import { addAssignment, addSubmission, buildWorld } from './helpers/world.js'

const redisUrl = process.env.REDIS_URL

t.test('undici private cache revalidates reports with 304', async (t) => {
  const handle = await createTestDatabase(t)
  const { app, origin, seen } = await listenTestApp(t, handle, redisUrl ? { redisUrl } : {})
  const w = await buildWorld(handle.db)
  const a1 = await addAssignment(handle.db, w.tenant1, w.c1, 10, '2024-03-10T00:00:00Z')
  const sub = await addSubmission(handle.db, w.tenant1, a1, w.s1.id, '2024-03-09T00:00:00Z', 4)
  const reportId = await createReport(app, w.admin, 'grade_distribution', { class_id: w.c1 })
  const path = `/reports/${reportId}`

  const store = new cacheStores.MemoryCacheStore()
  const agent = new Agent()
  const client = agent.compose(interceptors.cache({ type: 'private', store }))
  t.teardown(() => agent.close())
  // One token per user: a browser or API client resends the same credentials, and
  // the response varies on them (a fresh token would be another cache key).
  const tokens = new Map<number, string>()
  const auth = (user: Parameters<typeof tokenFor>[0]) => {
    if (!tokens.has(user.id)) tokens.set(user.id, `Bearer ${tokenFor(user)}`)
    return { authorization: tokens.get(user.id) as string }
  }

  /**
   * undici commits an entry to its store a little after the response ends, so a
   * request sent at once may not see it: wait, with a deadline, until the
   * client's cache holds the response with `etag`.
   */
  const cached = async (etag: string, user = w.admin) => {
    const key = { origin, path, method: 'GET', headers: auth(user) }
    const deadline = Date.now() + 5000
    while ((await store.get(key))?.headers.etag !== etag) {
      if (Date.now() > deadline) throw new Error(`undici never stored ${etag}`)
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  const getReport = async (user = w.admin) => {
    const res = await request(`${origin}${path}`, { dispatcher: client, headers: auth(user) })
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() }
  }
  /** What the server saw for the report URL since index `from`. */
  const serverSaw = (from: number) => seen.slice(from).filter((s) => s.url === path)

  let mark = seen.length
  const first = await getReport()
  t.equal(first.status, 200)
  t.equal(first.headers['cache-control'], 'private, max-age=0, must-revalidate')
  const etag = first.headers.etag as string
  t.match(serverSaw(mark), [{ method: 'GET', ifNoneMatch: undefined, status: 200, xCache: 'MISS' }])
  await cached(etag)

  mark = seen.length
  const second = await getReport()
  t.equal(second.status, 200, 'the client sees the cached 200')
  t.equal(second.body, first.body, 'the same body')
  t.equal(second.headers.etag, etag)
  const revalidation = serverSaw(mark)
  t.equal(revalidation.length, 1, 'one request reached the server')
  t.match(revalidation[0], {
    method: 'GET',
    ifNoneMatch: etag,
    authorization: true,
    status: 304,
    xCache: 'HIT',
  })

  // undici 7 drops its entry when a 304 carries Cache-Control (RFC 9110 §15.4.5
  // requires it on our 304) instead of updating the stored headers (RFC 9111
  // §4.3.4), so it refills with a plain GET. Same body either way.
  const refill = await getReport()
  t.equal(refill.body, first.body)
  t.match(serverSaw(mark).at(-1), { status: Number, xCache: 'HIT' }, 'served from the server cache')
  await cached(etag)

  // A mutation through the API, through the same client.
  const graded = await request(`${origin}/submissions/${sub}`, {
    dispatcher: client,
    method: 'PATCH',
    headers: { ...auth(w.teacherA), 'content-type': 'application/json' },
    body: JSON.stringify({ score: 9 }),
  })
  t.equal(graded.statusCode, 200)
  await graded.body.text()

  mark = seen.length
  const third = await getReport()
  t.equal(third.status, 200)
  t.not(third.body, first.body, 'the new body')
  t.equal(JSON.parse(third.body).data.max, 90, 'with the new score')
  t.not(third.headers.etag, etag)
  t.match(serverSaw(mark), [{ ifNoneMatch: etag, status: 200 }], 'the old ETag got a full 200')
  await cached(third.headers.etag as string)

  mark = seen.length
  const fourth = await getReport()
  t.equal(fourth.body, third.body)
  t.match(serverSaw(mark), [{ ifNoneMatch: third.headers.etag, status: 304 }], 'and the new one a 304')

  // Vary: Authorization — another user's request is not answered from this entry.
  mark = seen.length
  const other = await getReport(w.teacherB)
  t.equal(other.status, 403)
  t.match(serverSaw(mark), [{ status: 403 }], 'it reached the server and access was checked')
})
