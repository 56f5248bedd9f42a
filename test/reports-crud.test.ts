// Report definitions CRUD: 201 + Location, validation naming the field,
// keyset pagination (also across visibility filtering), PATCH with revision
// and invalidation, DELETE then 404.
import t from 'tap'
import { onInvalidation } from '../src/invalidation-events.js'
import { bearer, buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import { createReport, getReport } from './helpers/reports.js'
import { buildWorld } from './helpers/world.js'

t.test('report definitions', async (t) => {
  const handle = await createTestDatabase(t)
  const db = handle.db
  const app = await buildTestApp(t, handle)
  const w = await buildWorld(db)
  const admin = bearer(w.admin)

  // Records the tags the triggers wrote for each change the routes made, once delivered.
  const invalidations: unknown[][] = []
  const unsubscribe = onInvalidation(app.invalidation, (e) =>
    invalidations.push([e.tenantId, e.tags, e.reason]),
  )
  t.teardown(unsubscribe)

  t.test('POST creates: 201, Location, the definition', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/reports',
      headers: admin,
      payload: { type: 'student_progress', title: 'Progress of s1', params: { student_id: w.s1.id } },
    })
    t.equal(res.statusCode, 201)
    const body = res.json()
    t.equal(res.headers.location, `/reports/${body.id}`)
    t.match(body, {
      id: Number,
      type: 'student_progress',
      title: 'Progress of s1',
      params: { student_id: w.s1.id },
      created_by: w.admin.id,
      revision: 1,
    })
    t.ok(!Number.isNaN(Date.parse(body.created_at)))

    const get = await getReport(app, w.admin, body.id)
    t.equal(get.statusCode, 200)
    t.match(get.headers['content-type'], /^application\/json; charset=utf-8/)
    const report = get.json()
    t.same(Object.keys(report), ['id', 'type', 'title', 'params', 'filters', 'generated_at', 'data'])
    t.match(report, { id: body.id, type: 'student_progress', title: 'Progress of s1', filters: {} })
    t.equal(new Date(report.generated_at).toISOString(), report.generated_at, 'generated_at is an ISO string')
  })

  t.test('POST validation: 400 naming the field', async (t) => {
    const cases: [Record<string, unknown>, string, string][] = [
      [
        { type: 'analytics', title: 'x', params: {}, extra: 1 },
        'FST_ERR_VALIDATION',
        'body.extra is not an allowed field',
      ],
      [{ type: 'analytics', params: {} }, 'FST_ERR_VALIDATION', 'body.title is required'],
      [{ type: 'analytics', title: '', params: {} }, 'FST_ERR_VALIDATION', 'body.title'],
      [{ type: 'analytics', title: 'x'.repeat(201), params: {} }, 'FST_ERR_VALIDATION', 'body.title'],
      [{ type: 'weather', title: 'x', params: {} }, 'FST_ERR_VALIDATION', 'body.type'],
      [{ type: 'analytics', title: 'x' }, 'FST_ERR_VALIDATION', 'body.params is required'],
      [
        { type: 'student_progress', title: 'x', params: {} },
        'INVALID_PARAMS',
        'params.student_id is required',
      ],
      [
        { type: 'student_progress', title: 'x', params: { student_id: w.s1.id, extra: 1 } },
        'INVALID_PARAMS',
        'params.extra is not an allowed field',
      ],
      [
        { type: 'student_progress', title: 'x', params: { student_id: 'one' } },
        'INVALID_PARAMS',
        'params.student_id must be integer',
      ],
      [
        { type: 'student_progress', title: 'x', params: { student_id: w.teacherA.id } },
        'INVALID_PARAMS',
        'params.student_id does not exist',
      ],
      [
        { type: 'grade_distribution', title: 'x', params: { class_id: w.c1, assignment_id: 1 } },
        'INVALID_PARAMS',
        'params must have exactly one of class_id, assignment_id',
      ],
      [
        { type: 'grade_distribution', title: 'x', params: {} },
        'INVALID_PARAMS',
        'params must have exactly one of class_id, assignment_id',
      ],
      [
        { type: 'grade_distribution', title: 'x', params: { class_id: w.cx } },
        'INVALID_PARAMS',
        'params.class_id does not exist',
      ],
      [
        { type: 'grade_distribution', title: 'x', params: { assignment_id: 999999 } },
        'INVALID_PARAMS',
        'params.assignment_id does not exist',
      ],
      [
        { type: 'analytics', title: 'x', params: { class_ids: [w.c1, w.c1] } },
        'INVALID_PARAMS',
        'params.class_ids must not have duplicate items',
      ],
      [{ type: 'analytics', title: 'x', params: { class_ids: [] } }, 'INVALID_PARAMS', 'params.class_ids'],
      [
        { type: 'analytics', title: 'x', params: { class_ids: Array.from({ length: 51 }, (_, i) => i + 1) } },
        'INVALID_PARAMS',
        'params.class_ids',
      ],
      [
        { type: 'analytics', title: 'x', params: { class_ids: [w.c1, w.cx] } },
        'INVALID_PARAMS',
        `params.class_ids: class ${w.cx} does not exist`,
      ],
      [
        { type: 'custom', title: 'x', params: { metric: 'avg_score' } },
        'INVALID_PARAMS',
        'params.group_by is required',
      ],
    ]
    for (const [payload, code, message] of cases) {
      const res = await app.inject({ method: 'POST', url: '/reports', headers: admin, payload })
      t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 120))
      t.equal(res.json().code, code)
      t.match(res.json().message, message.includes(' ') ? message : new RegExp(`^${message}\\b`))
    }
    t.equal(
      (await app.inject({ method: 'POST', url: '/reports?x=1', headers: admin, payload: {} })).statusCode,
      400,
    )
  })

  t.test('list: keyset pagination with an opaque cursor', async (t) => {
    const T = await db
      .insertInto('tenants')
      .values({ name: 'Paging' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const pager = await db
      .insertInto('users')
      .values({ tenant_id: T.id, role: 'admin', email: 'pager@paging.test', name: 'pager' })
      .returning(['id', 'tenant_id', 'role'])
      .executeTakeFirstOrThrow()
    const ids: number[] = []
    for (let i = 0; i < 7; i++) {
      const type = i % 2 === 0 ? 'analytics' : 'custom'
      const params = type === 'analytics' ? {} : { metric: 'submission_count', group_by: 'month' }
      ids.push(await createReport(app, pager, type, params, `r${i}`))
    }
    const page = async (query: string) => {
      const res = await app.inject({ method: 'GET', url: `/reports?${query}`, headers: bearer(pager) })
      t.equal(res.statusCode, 200, query)
      return res.json() as { items: { id: number; title: string }[]; next_cursor: string | null }
    }
    const p1 = await page('limit=3')
    t.same(
      p1.items.map((i) => i.id),
      ids.slice(0, 3),
    )
    t.type(p1.next_cursor, 'string')
    const p2 = await page(`limit=3&cursor=${p1.next_cursor}`)
    t.same(
      p2.items.map((i) => i.id),
      ids.slice(3, 6),
    )
    const p3 = await page(`limit=3&cursor=${p2.next_cursor}`)
    t.same(
      p3.items.map((i) => i.id),
      ids.slice(6),
    )
    t.equal(p3.next_cursor, null, 'last page')
    const exact = await page('limit=7')
    t.equal(exact.items.length, 7)
    t.equal(exact.next_cursor, null, 'a page that ends exactly at the last item has no next cursor')
    const def = await page('')
    t.equal(def.items.length, 7, 'default limit 50')

    const custom = await page('type=custom&limit=2')
    t.same(
      custom.items.map((i) => i.id),
      [ids[1], ids[3]],
    )
    const custom2 = await page(`type=custom&limit=2&cursor=${custom.next_cursor}`)
    t.same(
      custom2.items.map((i) => i.id),
      [ids[5]],
    )

    for (const query of ['limit=0', 'limit=101', 'limit=x', 'type=weather', 'cursor=bogus', 'sort=id']) {
      const res = await app.inject({ method: 'GET', url: `/reports?${query}`, headers: bearer(pager) })
      t.equal(res.statusCode, 400, query)
      t.match(res.json().message, new RegExp(`^querystring\\.${query.split('=')[0]}`))
    }
  })

  t.test('list: pages are filled across batches of invisible definitions', async (t) => {
    // 450 definitions by the admin; teacherA sees only those about its class c1 (every 100th).
    const rows = Array.from({ length: 450 }, (_, i) => ({
      tenant_id: w.tenant1,
      type: 'grade_distribution' as const,
      title: `bulk ${i}`,
      params: JSON.stringify({ class_id: i % 100 === 0 ? w.c1 : w.c2 }),
      created_by: w.admin.id,
      updated_at: new Date(),
    }))
    const inserted = await db.insertInto('reports').values(rows).returning(['id', 'params']).execute()
    const expected = inserted.filter((r) => r.params.class_id === w.c1).map((r) => r.id)
    t.equal(expected.length, 5)
    const seen: number[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res: { json(): { items: { id: number }[]; next_cursor: string | null } } = await app.inject({
        method: 'GET',
        url: `/reports?type=grade_distribution&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        headers: bearer(w.teacherA),
      })
      const body = res.json()
      seen.push(...body.items.map((i) => i.id))
      cursor = body.next_cursor
      pages++
    } while (cursor && pages < 10)
    t.same(seen, expected)
    t.equal(pages, 3)
  })

  t.test('PATCH changes title and/or params, bumps the revision, invalidates the report', async (t) => {
    const id = await createReport(app, w.admin, 'grade_distribution', { class_id: w.c1 }, 'before')
    invalidations.length = 0
    const patch = (payload: unknown) =>
      app.inject({ method: 'PATCH', url: `/reports/${id}`, headers: admin, payload: payload as object })

    const renamed = await patch({ title: 'after' })
    t.equal(renamed.statusCode, 200)
    t.match(renamed.json(), { id, title: 'after', params: { class_id: w.c1 }, revision: 2 })
    t.same(invalidations, [[w.tenant1, [`report:${id}`], 'report.update']])

    const moved = await patch({ params: { class_id: w.c2 } })
    t.match(moved.json(), { title: 'after', params: { class_id: w.c2 }, revision: 3 })
    t.same((await getReport(app, w.admin, id)).json().params, { class_id: w.c2 })

    for (const [payload, code, message] of [
      [{}, 'INVALID_BODY', 'body must include title or params'],
      [{ title: 'x', owner: 1 }, 'FST_ERR_VALIDATION', 'body.owner is not an allowed field'],
      [{ title: '' }, 'FST_ERR_VALIDATION', 'body.title'],
      [{ params: { class_id: w.cx } }, 'INVALID_PARAMS', 'params.class_id does not exist'],
      [{ params: { student_id: w.s1.id } }, 'INVALID_PARAMS', 'params.student_id is not an allowed field'],
    ] as const) {
      const res = await patch(payload)
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      t.match(res.json(), { code, message })
    }
    t.equal(invalidations.length, 2, 'failed PATCHes invalidate nothing')
    t.equal((await getReport(app, w.admin, id)).json().title, 'after')
    const missing = await app.inject({
      method: 'PATCH',
      url: '/reports/999999',
      headers: admin,
      payload: { title: 'x' },
    })
    t.equal(missing.statusCode, 404)
    t.equal(missing.json().code, 'REPORT_NOT_FOUND')
  })

  t.test('DELETE: 204, then 404 everywhere', async (t) => {
    const id = await createReport(app, w.admin, 'analytics', {})
    invalidations.length = 0
    const del = await app.inject({ method: 'DELETE', url: `/reports/${id}`, headers: admin })
    t.equal(del.statusCode, 204)
    t.equal(del.body, '')
    t.same(invalidations, [[w.tenant1, [`report:${id}`], 'report.delete']])
    t.equal((await getReport(app, w.admin, id)).statusCode, 404)
    t.equal((await app.inject({ method: 'DELETE', url: `/reports/${id}`, headers: admin })).statusCode, 404)
    const list = await app.inject({ method: 'GET', url: '/reports?type=analytics', headers: admin })
    t.notOk(
      list.json().items.some((i: { id: number }) => i.id === id),
      'not listed',
    )
  })

  t.test('ids that are not ids: 400', async (t) => {
    for (const url of ['/reports/abc', '/reports/0', '/reports/1.5', '/reports/99999999999']) {
      const res = await app.inject({ method: 'GET', url, headers: admin })
      t.equal(res.statusCode, 400, url)
      t.match(res.json().message, /^params\.id/)
    }
  })
})
