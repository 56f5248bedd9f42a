// A real browser's HTTP cache: headless Chromium loads a page served by the
// app that fetches a report with a bearer token (fetch `cache: 'default'`).
// The server sees the second fetch arrive with If-None-Match and answers 304;
// after a mutation made from the page, the page sees the new data.
import t from 'tap'
import { tokenFor } from './helpers/app.js'
import { launchChromium } from './helpers/chromium.js'
import { createTestDatabase } from './helpers/database.js'
import { listenTestApp } from './helpers/http-server.js'
import { createReport } from './helpers/reports.js'
import { addAssignment, addSubmission, buildWorld } from './helpers/world.js'

const redisUrl = process.env.REDIS_URL

// The token is handed to the page by the test (never in a URL); requests go
// through the browser's HTTP cache like any page's fetch.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>conditional GET</title></head>
<body>
<script>
  window.call = async (method, url, token, body) => {
    const res = await fetch(url, {
      method,
      cache: 'default',
      headers: body === undefined
        ? { authorization: 'Bearer ' + token }
        : { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, etag: res.headers.get('etag'), body: await res.text() }
  }
  document.body.dataset.ready = 'yes'
</script>
</body></html>`

interface Fetched {
  status: number
  etag: string | null
  body: string
}

/** What the page defines on window (see PAGE). */
type PageCall = (method: string, url: string, token: string, body?: unknown) => Promise<Fetched>

t.test('Chromium revalidates a report with If-None-Match and gets 304', async (t) => {
  const handle = await createTestDatabase(t)
  const w = await buildWorld(handle.db)
  const a1 = await addAssignment(handle.db, w.tenant1, w.c1, 10, '2024-03-10T00:00:00Z')
  const sub = await addSubmission(handle.db, w.tenant1, a1, w.s1.id, '2024-03-09T00:00:00Z', 3)
  const { app, origin, seen } = await listenTestApp(t, handle, redisUrl ? { redisUrl } : {}, (app) => {
    app.get('/test/conditional.html', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/html; charset=utf-8').send(PAGE),
    )
  })
  const reportId = await createReport(app, w.admin, 'grade_distribution', { class_id: w.c1 })
  const path = `/reports/${reportId}`

  const context = await launchChromium(t)
  const page = await context.newPage()
  await page.goto(`${origin}/test/conditional.html`)
  await page.waitForSelector('body[data-ready="yes"]', { state: 'attached' })

  const adminToken = tokenFor(w.admin)
  const call = (method: string, url: string, token: string, body?: unknown): Promise<Fetched> =>
    page.evaluate(([m, u, tk, b]) => (window as unknown as { call: PageCall }).call(m, u, tk, b), [
      method,
      url,
      token,
      body,
    ] as const)
  const serverSaw = (from: number) => seen.slice(from).filter((s) => s.url === path)

  let mark = seen.length
  const first = await call('GET', path, adminToken)
  t.equal(first.status, 200)
  t.ok(first.etag, 'the page can read the ETag')
  t.match(serverSaw(mark), [{ method: 'GET', ifNoneMatch: undefined, status: 200 }])

  mark = seen.length
  const second = await call('GET', path, adminToken)
  t.equal(second.status, 200, 'the page gets the cached 200')
  t.equal(second.body, first.body, 'the same data')
  t.match(
    serverSaw(mark),
    [{ method: 'GET', ifNoneMatch: first.etag, authorization: true, status: 304, xCache: 'HIT' }],
    'the browser revalidated with If-None-Match and the server answered 304',
  )

  // A mutation from the page.
  const graded = await call('PATCH', `/submissions/${sub}`, tokenFor(w.teacherA), { score: 7 })
  t.equal(graded.status, 200)

  mark = seen.length
  const third = await call('GET', path, adminToken)
  t.equal(third.status, 200)
  t.not(third.body, first.body, 'the page sees new data')
  t.equal(JSON.parse(third.body).data.max, 70, 'the new score')
  t.not(third.etag, first.etag)
  t.match(serverSaw(mark), [{ ifNoneMatch: first.etag, status: 200 }], 'the old ETag got a 200')

  mark = seen.length
  const fourth = await call('GET', path, adminToken)
  t.equal(fourth.body, third.body)
  t.match(serverSaw(mark), [{ ifNoneMatch: third.etag, status: 304 }], 'the new ETag revalidates')

  // Vary: Authorization: another user's token is not answered from the admin's entry.
  mark = seen.length
  const other = await call('GET', path, tokenFor(w.teacherB))
  t.equal(other.status, 403)
  t.match(serverSaw(mark), [{ status: 403 }])
})
