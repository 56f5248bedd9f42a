// HTTP caching through inject: report headers and 304s per RFC 9110 (lists,
// `*`, weak tags, If-None-Match over If-Modified-Since, HEAD), access before
// any 304, new ETag after a mutation, definition ETags and 412 on PATCH/DELETE,
// the type policy's Cache-Control, and plugins/http-cache.ts on the
// other routes (private, no-cache reads; no-store mutations and errors).
import { createHash } from 'node:crypto'
import t from 'tap'
import { strongEtag } from '../src/cache/http.js'
import { bearer, buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import { createReport } from './helpers/reports.js'
import { addAssignment, addSubmission, buildWorld } from './helpers/world.js'

const redisUrl = process.env.REDIS_URL
const DEFAULT_CC = 'private, max-age=0, must-revalidate'
/** Headers a 304 must repeat from the 200 (RFC 9110 §15.4.5). */
const REPEATED = ['etag', 'last-modified', 'cache-control', 'vary', 'x-cache'] as const

t.test('HTTP conditional requests', async (t) => {
  const handle = await createTestDatabase(t)
  const db = handle.db
  const app = await buildTestApp(t, handle, redisUrl ? { redisUrl } : {})
  const w = await buildWorld(db)
  const admin = bearer(w.admin)
  const a1 = await addAssignment(db, w.tenant1, w.c1, 10, '2024-03-10T00:00:00Z')
  const sub = await addSubmission(db, w.tenant1, a1, w.s1.id, '2024-03-09T00:00:00Z', 5)
  const reportId = await createReport(app, w.admin, 'grade_distribution', { class_id: w.c1 })
  const url = `/reports/${reportId}`
  const get = (headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') =>
    app.inject({ method, url, headers: { ...admin, ...headers } })

  const first = await get()
  const etag = first.headers.etag as string
  const lastModified = first.headers['last-modified'] as string

  t.test('200 carries the validators and the policy', async (t) => {
    t.equal(first.statusCode, 200)
    t.equal(first.headers['x-cache'], 'MISS')
    t.match(etag, /^"[A-Za-z0-9_-]+"$/, 'a strong, quoted ETag')
    t.equal(etag, strongEtag(first.rawPayload), 'a hash of the exact body bytes')
    t.equal(lastModified, new Date(first.json().generated_at).toUTCString())
    t.equal(first.headers['cache-control'], DEFAULT_CC)
    t.equal(first.headers.vary, 'Authorization')
    const again = await get()
    t.equal(again.headers['x-cache'], 'HIT')
    t.equal(again.headers.etag, etag, 'the stored ETag, not a new one')
    t.equal(again.body, first.body)
  })

  t.test('304: no content, the 200 headers, no Content-Type/Length', async (t) => {
    const res = await get({ 'if-none-match': etag })
    t.equal(res.statusCode, 304)
    t.equal(res.rawPayload.length, 0)
    t.notOk('content-length' in res.headers, 'no Content-Length')
    t.notOk('content-type' in res.headers, 'no Content-Type')
    for (const name of REPEATED) t.ok(res.headers[name], `${name} present`)
    t.equal(res.headers.etag, etag)
    t.equal(res.headers['last-modified'], lastModified)
    t.equal(res.headers['cache-control'], DEFAULT_CC)
    t.equal(res.headers.vary, 'Authorization')
    t.equal(res.headers['x-cache'], 'HIT')
  })

  t.test('If-None-Match: lists, *, weak tags, no match, junk', async (t) => {
    const cases: [string, number][] = [
      [etag, 304],
      [`"other", ${etag}`, 304],
      [`"a,b", W/"x" ,${etag}`, 304],
      ['"other", "more"', 200],
      ['*', 304],
      [`W/${etag}`, 304],
      [`"nope", W/${etag}`, 304],
      [etag.slice(1, -1), 200],
      ['garbage', 200],
      ['', 200],
    ]
    for (const [header, status] of cases) {
      const res = await get({ 'if-none-match': header })
      t.equal(res.statusCode, status, `If-None-Match: ${header}`)
      if (status === 200) t.equal(res.body, first.body)
    }
  })

  t.test('If-None-Match takes precedence over If-Modified-Since', async (t) => {
    const future = new Date(Date.now() + 86_400_000).toUTCString()
    const past = new Date(Date.parse(lastModified) - 86_400_000).toUTCString()
    const noMatch = await get({ 'if-none-match': '"other"', 'if-modified-since': future })
    t.equal(noMatch.statusCode, 200, 'INM does not match: IMS is not evaluated')
    const invalidInm = await get({ 'if-none-match': 'garbage', 'if-modified-since': future })
    t.equal(invalidInm.statusCode, 200, 'an INM that names no valid tag still disables IMS')
    const match = await get({ 'if-none-match': etag, 'if-modified-since': past })
    t.equal(match.statusCode, 304, 'INM matches: 304 even though IMS alone says modified')
    const imsSame = await get({ 'if-modified-since': lastModified })
    t.equal(imsSame.statusCode, 304, 'IMS alone, equal to Last-Modified')
    t.equal(imsSame.headers.etag, etag)
    t.equal(imsSame.headers['x-cache'], 'HIT')
    t.notOk('content-length' in imsSame.headers)
    t.equal((await get({ 'if-modified-since': future })).statusCode, 304, 'IMS alone, later')
    t.equal((await get({ 'if-modified-since': past })).statusCode, 200, 'IMS alone, earlier')
    t.equal((await get({ 'if-modified-since': 'yesterday' })).statusCode, 200, 'IMS not a date')
  })

  t.test('HEAD: the GET headers without a body', async (t) => {
    const g = await get()
    const h = await get({}, 'HEAD')
    t.equal(h.statusCode, 200)
    t.equal(h.rawPayload.length, 0)
    for (const name of [...REPEATED, 'content-type', 'content-length']) {
      t.equal(h.headers[name], g.headers[name], `HEAD ${name}`)
    }
    t.equal(Number(h.headers['content-length']), g.rawPayload.length)
    const h304 = await get({ 'if-none-match': etag }, 'HEAD')
    const g304 = await get({ 'if-none-match': etag })
    t.equal(h304.statusCode, 304)
    t.equal(h304.rawPayload.length, 0)
    t.notOk('content-length' in h304.headers, 'HEAD 304 has no Content-Length')
    t.notOk('content-type' in h304.headers)
    for (const name of REPEATED) t.equal(h304.headers[name], g304.headers[name], `HEAD 304 ${name}`)
    const hIms = await get({ 'if-modified-since': lastModified }, 'HEAD')
    t.equal(hIms.statusCode, 304)
  })

  t.test('authentication and access come before any 304', async (t) => {
    const anonymous = await app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } })
    t.equal(anonymous.statusCode, 401)
    t.equal(anonymous.headers['www-authenticate'], 'Bearer')
    const forbidden = await app.inject({
      method: 'GET',
      url,
      headers: { ...bearer(w.teacherB), 'if-none-match': etag },
    })
    t.equal(forbidden.statusCode, 403, 'a teacher of another class, with the matching ETag')
    const star = await app.inject({
      method: 'GET',
      url,
      headers: { ...bearer(w.teacherB), 'if-none-match': '*' },
    })
    t.equal(star.statusCode, 403)
    const ims = await app.inject({
      method: 'HEAD',
      url,
      headers: { ...bearer(w.teacherB), 'if-modified-since': lastModified },
    })
    t.equal(ims.statusCode, 403)
    const otherTenant = await app.inject({
      method: 'GET',
      url,
      headers: { ...bearer(w.admin2), 'if-none-match': etag },
    })
    t.equal(otherTenant.statusCode, 404)
    t.equal(otherTenant.json().code, 'REPORT_NOT_FOUND')
    for (const res of [anonymous, forbidden, star, ims, otherTenant]) {
      t.equal(res.headers['cache-control'], 'no-store', `${res.statusCode} is no-store`)
      t.notOk('etag' in res.headers, `${res.statusCode} has no ETag`)
      t.notOk('last-modified' in res.headers)
    }
    const teacherA = await app.inject({
      method: 'GET',
      url,
      headers: { ...bearer(w.teacherA), 'if-none-match': etag },
    })
    t.equal(teacherA.statusCode, 304, 'the class teacher sees the same shared body')
  })

  t.test('after a mutation the old ETag gets 200 with the new body', async (t) => {
    const before = await get({ 'if-none-match': etag })
    t.equal(before.statusCode, 304)
    const graded = await app.inject({
      method: 'PATCH',
      url: `/submissions/${sub}`,
      headers: bearer(w.teacherA),
      payload: { score: 10 },
    })
    t.equal(graded.statusCode, 200)
    t.equal(graded.headers['cache-control'], 'no-store', 'a mutation response is no-store')
    t.notOk('etag' in graded.headers, 'no generated ETag on a mutation')
    const after = await get({ 'if-none-match': etag })
    t.equal(after.statusCode, 200)
    t.not(after.headers.etag, etag)
    t.equal(after.headers.etag, strongEtag(after.rawPayload))
    t.equal(after.json().data.max, 100, 'the new score')
    t.not(after.body, first.body)
    const revalidated = await get({ 'if-none-match': `${etag}, ${after.headers.etag}` })
    t.equal(revalidated.statusCode, 304, 'the new ETag in a list matches')
  })

  t.test('definition ETag: GET /reports/:id/definition, POST and PATCH responses', async (t) => {
    const created = await app.inject({
      method: 'POST',
      url: '/reports',
      headers: admin,
      payload: { type: 'analytics', title: 'Whole school', params: {} },
    })
    t.equal(created.statusCode, 201)
    const id = created.json().id
    t.equal(created.headers.etag, `"def-${id}-1"`)
    t.equal(created.headers['content-location'], `/reports/${id}/definition`)
    t.equal(created.headers['cache-control'], 'no-store')
    const def = await app.inject({ method: 'GET', url: `/reports/${id}/definition`, headers: admin })
    t.equal(def.statusCode, 200)
    t.same(def.json(), created.json())
    t.equal(def.headers.etag, created.headers.etag)
    t.equal(def.headers['cache-control'], 'private, no-cache')
    t.equal(def.headers.vary, 'Authorization')
    const notModified = await app.inject({
      method: 'GET',
      url: `/reports/${id}/definition`,
      headers: { ...admin, 'if-none-match': `"x", W/${def.headers.etag}` },
    })
    t.equal(notModified.statusCode, 304)
    t.equal(notModified.rawPayload.length, 0)
    t.equal(notModified.headers.etag, def.headers.etag)
    t.equal(
      notModified.headers['cache-control'],
      'private, no-cache',
      'caching plugin did not write no-store',
    )
    t.notOk('content-length' in notModified.headers)
    t.notOk('content-type' in notModified.headers)
    const forbidden = await app.inject({
      method: 'GET',
      url: `/reports/${reportId}/definition`,
      headers: { ...bearer(w.teacherB), 'if-none-match': '*' },
    })
    t.equal(forbidden.statusCode, 403)
    const other = await app.inject({
      method: 'GET',
      url: `/reports/${id}/definition`,
      headers: bearer(w.admin2),
    })
    t.equal(other.statusCode, 404)
    const patched = await app.inject({
      method: 'PATCH',
      url: `/reports/${id}`,
      headers: { ...admin, 'if-match': def.headers.etag as string },
      payload: { title: 'Renamed' },
    })
    t.equal(patched.statusCode, 200)
    t.equal(patched.headers.etag, `"def-${id}-2"`)
    t.equal(patched.headers['cache-control'], 'no-store')
    const def2 = await app.inject({
      method: 'GET',
      url: `/reports/${id}/definition`,
      headers: { ...admin, 'if-none-match': def.headers.etag as string },
    })
    t.equal(def2.statusCode, 200, 'the old definition ETag no longer matches')
    t.equal(def2.headers.etag, patched.headers.etag)
    t.equal(def2.json().title, 'Renamed')
  })

  t.test('PATCH/DELETE preconditions: 412 changes nothing', async (t) => {
    const id = await createReport(app, w.admin, 'grade_distribution', { class_id: w.c1 }, 'Grades')
    const defUrl = `/reports/${id}/definition`
    const current = async () => {
      const res = await app.inject({ method: 'GET', url: defUrl, headers: admin })
      return { etag: res.headers.etag as string, body: res.json() }
    }
    const v1 = await current()
    const result1 = await app.inject({ method: 'GET', url: `/reports/${id}`, headers: admin })
    const patch = (headers: Record<string, string>, title: string, who = admin) =>
      app.inject({
        method: 'PATCH',
        url: `/reports/${id}`,
        headers: { ...who, ...headers },
        payload: { title },
      })

    t.equal((await patch({ 'if-match': v1.etag }, 'Grades v2')).statusCode, 200)
    const v2 = await current()
    t.equal(v2.body.revision, 2)

    const refusals: [Record<string, string>, string][] = [
      [{ 'if-match': v1.etag }, 'a stale If-Match'],
      [{ 'if-match': `"nope", ${v1.etag}` }, 'a list of stale tags'],
      [{ 'if-match': `W/${v2.etag}` }, 'a weak tag (If-Match compares strongly)'],
      [{ 'if-none-match': '*' }, 'If-None-Match: * on an existing definition'],
      [{ 'if-none-match': `"x", ${v2.etag}` }, 'If-None-Match naming the current tag'],
      [{ 'if-unmodified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' }, 'If-Unmodified-Since before the change'],
    ]
    for (const [headers, why] of refusals) {
      const res = await patch(headers, 'Should not happen')
      t.equal(res.statusCode, 412, why)
      t.equal(res.json().code, 'PRECONDITION_FAILED')
      t.equal(res.headers['cache-control'], 'no-store')
      t.notOk('etag' in res.headers)
    }
    t.same(await current(), v2, 'nothing changed: same ETag, same definition')
    const result2 = await app.inject({ method: 'GET', url: `/reports/${id}`, headers: admin })
    t.equal(result2.json().title, 'Grades v2')
    t.not(result2.headers.etag, result1.headers.etag)
    const stillCached = await app.inject({
      method: 'GET',
      url: `/reports/${id}`,
      headers: { ...admin, 'if-none-match': result2.headers.etag as string },
    })
    t.equal(stillCached.statusCode, 304, 'a 412 invalidated nothing')

    // Passing preconditions.
    t.equal((await patch({ 'if-match': `"nope", ${v2.etag}` }, 'Grades v3')).statusCode, 200, 'list')
    t.equal((await patch({ 'if-match': '*' }, 'Grades v4')).statusCode, 200, '* with a definition')
    t.equal((await patch({ 'if-none-match': v1.etag }, 'Grades v5')).statusCode, 200, 'INM stale tag')
    const future = new Date(Date.now() + 86_400_000).toUTCString()
    t.equal((await patch({ 'if-unmodified-since': future }, 'Grades v6')).statusCode, 200, 'IUS later')
    const v6 = await current()
    t.equal(v6.body.title, 'Grades v6')
    t.equal(v6.body.revision, 6)

    // A refusal by access or tenancy wins over the precondition (RFC 9110 §13.2.1).
    t.equal((await patch({ 'if-match': v1.etag }, 'x', bearer(w.teacherB))).statusCode, 403)
    t.equal((await patch({ 'if-match': v1.etag }, 'x', bearer(w.admin2))).statusCode, 404)
    // Validation of the content still comes first (Fastify validates before the handler).
    const invalid = await app.inject({
      method: 'PATCH',
      url: `/reports/${id}`,
      headers: { ...admin, 'if-match': v1.etag },
      payload: { title: '' },
    })
    t.equal(invalid.statusCode, 400)

    // Two writers holding the same ETag: the row lock serialises them, exactly one wins.
    const race = await Promise.all([
      patch({ 'if-match': v6.etag }, 'Writer A'),
      patch({ 'if-match': v6.etag }, 'Writer B'),
    ])
    t.same(race.map((r) => r.statusCode).sort(), [200, 412])
    const winner = race.find((r) => r.statusCode === 200)
    t.equal((await current()).body.title, winner?.json().title)
    t.equal((await current()).body.revision, 7)

    // DELETE
    const del = (headers: Record<string, string>) =>
      app.inject({ method: 'DELETE', url: `/reports/${id}`, headers: { ...admin, ...headers } })
    const deleteRefusals: Record<string, string>[] = [{ 'if-match': v6.etag }, { 'if-none-match': '*' }]
    for (const headers of deleteRefusals) {
      const res = await del(headers)
      t.equal(res.statusCode, 412, `DELETE ${JSON.stringify(headers)}`)
      t.equal(res.headers['cache-control'], 'no-store')
    }
    t.equal((await app.inject({ method: 'GET', url: defUrl, headers: admin })).statusCode, 200, 'still there')
    const v7 = await current()
    const deleted = await del({ 'if-match': v7.etag })
    t.equal(deleted.statusCode, 204)
    t.equal(deleted.headers['cache-control'], 'no-store')
    t.equal((await app.inject({ method: 'GET', url: `/reports/${id}`, headers: admin })).statusCode, 404)
    const gone = await del({ 'if-match': '*' })
    t.equal(gone.statusCode, 404, 'no definition: 404, the precondition is not evaluated')
  })

  t.test('other routes: plugins/http-cache.ts', async (t) => {
    const list = await app.inject({ method: 'GET', url: '/classes', headers: admin })
    t.equal(list.statusCode, 200)
    const tag = list.headers.etag as string
    const sha1 = `"${createHash('sha1').update(list.rawPayload).digest('base64')}"`
    t.equal(tag, sha1, 'a hash of the body (sha1, base64)')
    t.equal(list.headers['cache-control'], 'private, no-cache')
    t.equal(list.headers.vary, 'Authorization')
    for (const inm of [tag, `"a", ${tag}`, `W/${tag}`, '*']) {
      for (const method of ['GET', 'HEAD'] as const) {
        const res = await app.inject({ method, url: '/classes', headers: { ...admin, 'if-none-match': inm } })
        t.equal(res.statusCode, 304, `${method} If-None-Match: ${inm}`)
        t.equal(res.rawPayload.length, 0)
        t.equal(res.headers.etag, tag)
        t.equal(res.headers['cache-control'], 'private, no-cache', '304 keeps the read policy')
        t.equal(res.headers.vary, 'Authorization')
        t.notOk('content-length' in res.headers, 'no Content-Length')
        t.notOk('content-type' in res.headers, 'no Content-Type')
      }
    }
    const head = await app.inject({ method: 'HEAD', url: '/classes', headers: admin })
    t.equal(head.statusCode, 200)
    t.equal(head.headers.etag, tag)
    t.equal(Number(head.headers['content-length']), list.rawPayload.length)
    const otherUser = await app.inject({
      method: 'GET',
      url: '/classes',
      headers: { ...bearer(w.teacherB), 'if-none-match': tag },
    })
    t.equal(otherUser.statusCode, 200, 'another caller sees other data: another ETag')
    t.not(otherUser.headers.etag, tag)

    // A read the route marks no-store gets no validator.
    const health = await app.inject({ method: 'GET', url: '/health', headers: { 'if-none-match': '*' } })
    t.equal(health.statusCode, 200)
    t.equal(health.headers['cache-control'], 'no-store')
    t.notOk('etag' in health.headers, 'no ETag on a no-store read')

    // Errors: no-store, no ETag, never a 304 even when If-None-Match would match.
    const errors = [
      await app.inject({ method: 'GET', url: '/classes', headers: { 'if-none-match': '*' } }),
      await app.inject({ method: 'GET', url: '/classes?x=1', headers: { ...admin, 'if-none-match': '*' } }),
      await app.inject({
        method: 'GET',
        url: '/classes/999999',
        headers: { ...admin, 'if-none-match': '*' },
      }),
      await app.inject({ method: 'GET', url: '/no/such/route', headers: { 'if-none-match': '*' } }),
    ]
    t.same(
      errors.map((r) => r.statusCode),
      [401, 400, 404, 404],
    )
    for (const res of errors) {
      t.equal(res.headers['cache-control'], 'no-store', `${res.statusCode} no-store`)
      t.notOk('etag' in res.headers, `${res.statusCode} no ETag`)
    }
    const errorTag = `"${createHash('sha1').update(errors[0].rawPayload).digest('base64')}"`
    const again = await app.inject({ method: 'GET', url: '/classes', headers: { 'if-none-match': errorTag } })
    t.equal(again.statusCode, 401, "the error body's hash is no validator")

    // Unsafe methods: no-store, no generated ETag, no 304 whatever If-None-Match says.
    const a2 = await addAssignment(db, w.tenant1, w.c1, 10, '2024-04-10T00:00:00Z', 'Second')
    const created = await app.inject({
      method: 'POST',
      url: '/submissions',
      headers: { ...bearer(w.s2), 'if-none-match': '*' },
      payload: { assignment_id: a2, student_id: w.s2.id },
    })
    t.equal(created.statusCode, 201)
    t.equal(created.headers['cache-control'], 'no-store')
    t.notOk('etag' in created.headers)
    const removed = await app.inject({
      method: 'DELETE',
      url: `/submissions/${created.json().id}`,
      headers: { ...bearer(w.teacherA), 'if-none-match': '*' },
    })
    t.equal(removed.statusCode, 204)
    t.equal(removed.headers['cache-control'], 'no-store')
    t.notOk('etag' in removed.headers)
  })
})

t.test('a type policy with a client max-age', async (t) => {
  const handle = await createTestDatabase(t)
  const app = await buildTestApp(t, handle, {
    ...(redisUrl ? { redisUrl } : {}),
    cachePolicy: { grade_distribution: { maxAge: 60, staleWhileRevalidate: 30 } },
  })
  const w = await buildWorld(handle.db)
  const gradesId = await createReport(app, w.admin, 'grade_distribution', { class_id: w.c1 })
  const progressId = await createReport(app, w.admin, 'student_progress', { student_id: w.s1.id })
  const grades = await app.inject({ method: 'GET', url: `/reports/${gradesId}`, headers: bearer(w.admin) })
  t.equal(grades.headers['cache-control'], 'private, max-age=60, stale-while-revalidate=30')
  const grades304 = await app.inject({
    method: 'GET',
    url: `/reports/${gradesId}`,
    headers: { ...bearer(w.admin), 'if-none-match': grades.headers.etag as string },
  })
  t.equal(grades304.statusCode, 304)
  t.equal(grades304.headers['cache-control'], 'private, max-age=60, stale-while-revalidate=30')
  const progress = await app.inject({
    method: 'GET',
    url: `/reports/${progressId}`,
    headers: bearer(w.admin),
  })
  t.equal(progress.headers['cache-control'], DEFAULT_CC, 'other types keep the default')
})
