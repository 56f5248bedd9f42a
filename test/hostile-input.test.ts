// Generated hostile input against every route of API.md: for each route, at
// least 50 invalid requests built from its parts (each path parameter, query
// parameter and body field replaced by values of the wrong type, out of range,
// non-canonical or holding a NUL; unknown parameters and fields; broken JSON,
// wrong media types, oversized bodies and URLs). Every one must be a 4xx in the
// error shape with a message and `Cache-Control: no-store`; none may change
// anything: the tables, the admin's report bodies and the cache's entry count
// are compared before and after. Sent as the admin, who may do everything, so
// what refuses each request is validation. Counts per route are printed.
import { STATUS_CODES } from 'node:http'
import t from 'tap'
import { bearer } from './helpers/app.js'
import { cacheApp, cacheWorld, createReports, getReport } from './helpers/report-cache.js'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
type FieldKind = 'id' | 'ids' | 'title' | 'datetime' | 'score' | 'max_score' | 'percent' | 'enum' | 'params'

interface Route {
  method: Method
  /** With `:name` placeholders, filled from `path`. */
  url: string
  path?: Record<string, number>
  /** Query parameters the route knows, with their kind of value. */
  query?: Record<string, QueryKind>
  /** A valid body: each field is attacked in turn. */
  body?: Record<string, Json>
  fields?: Record<string, FieldKind>
  /** Body fields that may be left out (so leaving them out is no attack). */
  optional?: string[]
}

type QueryKind = 'limit' | 'cursor' | 'type' | 'role' | 'date' | 'id' | 'granularity' | 'window' | 'boolean'

/** A small deterministic PRNG (mulberry32), so a failure replays exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}
const random = prng(10)
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]

/** Path values that are not a canonical int4 id (already percent-encoded for the URL). */
const BAD_PATH_IDS = [
  '0',
  '-1',
  '+3',
  '%2B3',
  '0x9',
  '9e0',
  '1e400',
  'Infinity',
  'NaN',
  '%209',
  '9%20',
  '09',
  '1.0',
  '1.5',
  '2147483648',
  '99999999999',
  '1'.repeat(1000),
  'abc',
  '1%00',
  '%E0%A4%A',
  'true',
  'null',
  '%5B%5D',
  '1,2',
  '%C0%AF',
  // Canonical but no such row: a 404 that must leave no trace (not even a cache entry).
  '2147483647',
  '2147483646',
]

const BAD_QUERY: Record<QueryKind, string[]> = {
  limit: ['0', '-1', '201', '1000', '1e1', '01', 'Infinity', 'NaN', '1.5', '', 'ten', '0x10', '%2B5', '1%00'],
  cursor: ['', 'x'.repeat(300), 'a%00b', '-1', '0'],
  type: ['bogus', '', 'STUDENT_PROGRESS', 'custom%00'],
  role: ['god', '', 'ADMIN', 'admin%00'],
  date: [
    '0000-01-01',
    '1969-12-31',
    '10000-01-01',
    '2024-02-30',
    '2024-1-1',
    'yesterday',
    '',
    '2024-01-01%00',
  ],
  id: ['0', '007', '+1', '1e0', '2147483648', 'Infinity', '-3', '', 'x', '1.0'],
  granularity: ['year', '', 'WEEK', 'week%00'],
  window: ['2h', '', '0', '1H', '1h%00'],
  boolean: ['1', '0', 'yes', '', 'TRUE', 'true%00'],
}

const BAD_FIELD: Record<FieldKind, Json[]> = {
  id: [0, -1, 1.5, 2147483648, 1e308, '1', '', true, false, null, [], [1], {}, 'x\u0000'],
  ids: [[0], [2147483648], ['1'], [], [1.5], 'x', [true], [null], 1, {}],
  title: [1, true, null, [], {}, '', 'a\u0000b', 'x'.repeat(201), ['t']],
  datetime: [
    '0000-01-01T00:00:00Z',
    '1969-12-31T23:59:59Z',
    '10000-01-01T00:00:00Z',
    '2024-02-30T00:00:00Z',
    '2024-01-01',
    '2024-01-01T25:00:00Z',
    '2024-01-01T00:00:00',
    'yesterday',
    1700000000,
    true,
    '',
    '2024-01-01T00:00:00Z\u0000',
  ],
  score: ['', '5', true, [], {}, -1, -0.01, 1e308, 1_000_001, [5]],
  max_score: ['', '5', true, null, [], 0, 0.001, -1, 1e308, 1_000_001, [5]],
  percent: ['', '50', true, null, [], -0.01, 100.01, 1e308, [50]],
  enum: ['bogus', 1, null, true, '', []],
  params: [
    null,
    [],
    'x',
    1,
    { student_id: '1' },
    { student_id: 0 },
    { student_id: 2147483648 },
    { bogus: 1 },
  ],
}

const WHOLE_BODIES: { payload: string; contentType: string }[] = [
  { payload: '[]', contentType: 'application/json' },
  { payload: '"x"', contentType: 'application/json' },
  { payload: 'null', contentType: 'application/json' },
  { payload: '1', contentType: 'application/json' },
  { payload: '{', contentType: 'application/json' },
  { payload: '{"a":1,}', contentType: 'application/json' },
  { payload: '{"__proto__":{"x":1}}', contentType: 'application/json' },
  { payload: '{"constructor":{"prototype":{"x":1}}}', contentType: 'application/json' },
  { payload: 'a=1', contentType: 'application/x-www-form-urlencoded' },
  { payload: 'x', contentType: 'text/plain' },
  { payload: `{"t":"${'x'.repeat(1024 * 1024 + 10)}"}`, contentType: 'application/json' },
]

interface Attack {
  what: string
  url: string
  payload?: string
  contentType?: string
}

function fill(route: Route, override?: [string, string]): string {
  return route.url.replace(/:([a-z_]+)/g, (_m, name: string) =>
    override && override[0] === name ? override[1] : String(route.path?.[name]),
  )
}

function attacks(route: Route): Attack[] {
  const out: Attack[] = []
  const base = fill(route)
  const body = route.body ? JSON.stringify(route.body) : undefined
  const json = body === undefined ? {} : { payload: body, contentType: 'application/json' }
  for (const name of Object.keys(route.path ?? {})) {
    for (const bad of BAD_PATH_IDS)
      out.push({ what: `path ${name}=${bad.slice(0, 20)}`, url: fill(route, [name, bad]), ...json })
  }
  for (const [name, kind] of Object.entries(route.query ?? {})) {
    for (const bad of BAD_QUERY[kind])
      out.push({ what: `query ${name}=${bad.slice(0, 20)}`, url: `${base}?${name}=${bad}`, ...json })
    out.push({ what: `query ${name} repeated`, url: `${base}?${name}=1&${name}=2`, ...json })
  }
  if (route.body && route.fields) {
    for (const [field, kind] of Object.entries(route.fields)) {
      for (const bad of BAD_FIELD[kind]) {
        out.push({
          what: `body ${field}=${JSON.stringify(bad).slice(0, 30)}`,
          url: base,
          payload: JSON.stringify({ ...route.body, [field]: bad }),
          contentType: 'application/json',
        })
      }
    }
    for (const field of Object.keys(route.body)) {
      const { [field]: _, ...rest } = route.body
      if (route.method !== 'PATCH' && !route.optional?.includes(field)) {
        out.push({
          what: `body without ${field}`,
          url: base,
          payload: JSON.stringify(rest),
          contentType: 'application/json',
        })
      }
    }
    out.push({
      what: 'body extra field',
      url: base,
      payload: JSON.stringify({ ...route.body, extra: 1 }),
      contentType: 'application/json',
    })
    out.push({
      what: 'body NUL key',
      url: base,
      payload: JSON.stringify({ ...route.body, 'a\u0000': 1 }),
      contentType: 'application/json',
    })
    for (const w of WHOLE_BODIES)
      out.push({ what: `whole body ${w.payload.slice(0, 20)} (${w.contentType})`, url: base, ...w })
  }
  // Unknown query parameters (every route rejects them), until there are at least 60 attacks.
  const names = [
    'foo',
    '__proto__',
    'constructor',
    'token',
    'x%00',
    '%00',
    'a[b]',
    'a.b',
    '%E0%A4%A',
    'limit ',
  ]
  for (const name of names) out.push({ what: `unknown query ${name}`, url: `${base}?${name}=1`, ...json })
  for (let i = 0; out.length < 60; i++) {
    const name = `p${i}_${Math.floor(random() * 1e6).toString(36)}`
    const value = pick(['1', '', 'true', '%00', 'x'.repeat(50), '-1'])
    out.push({ what: `unknown query ${name}`, url: `${base}?${name}=${value}`, ...json })
  }
  return out
}

t.test('generated invalid input: 4xx in the error shape, no-store, nothing changed', async (t) => {
  const cw = await cacheWorld(t)
  const { app } = await cacheApp(t, cw)
  const reports = await createReports(app, cw)
  const { w } = cw
  const db = cw.db.db
  const admin = w.admin
  const T = w.tenant1

  const date = '2024-05-01T10:00:00Z'
  const routes: Route[] = [
    { method: 'GET', url: '/reports', query: { limit: 'limit', cursor: 'cursor', type: 'type' } },
    {
      method: 'POST',
      url: '/reports',
      body: { type: 'student_progress', title: 'T', params: { student_id: w.s1.id } },
      fields: { type: 'enum', title: 'title', params: 'params' },
    },
    {
      method: 'GET',
      url: '/reports/:id',
      path: { id: reports.analyticsAll },
      query: { from: 'date', to: 'date', class_id: 'id', granularity: 'granularity' },
    },
    {
      method: 'HEAD',
      url: '/reports/:id',
      path: { id: reports.analyticsAll },
      query: { from: 'date', class_id: 'id' },
    },
    { method: 'GET', url: '/reports/:id/definition', path: { id: reports.progressS1 } },
    {
      method: 'PATCH',
      url: '/reports/:id',
      path: { id: reports.progressS1 },
      body: { title: 'New', params: { student_id: w.s2.id } },
      fields: { title: 'title', params: 'params' },
    },
    { method: 'DELETE', url: '/reports/:id', path: { id: reports.progressS2 } },
    {
      method: 'POST',
      url: '/submissions',
      body: { assignment_id: cw.a2, student_id: w.s1.id, submitted_at: date },
      fields: { assignment_id: 'id', student_id: 'id', submitted_at: 'datetime' },
      optional: ['submitted_at'],
    },
    { method: 'GET', url: '/submissions/:id', path: { id: cw.subS1A1 } },
    {
      method: 'PATCH',
      url: '/submissions/:id',
      path: { id: cw.subS1A1 },
      body: { score: 7 },
      fields: { score: 'score' },
    },
    { method: 'DELETE', url: '/submissions/:id', path: { id: cw.subS1A1 } },
    {
      method: 'PUT',
      url: '/material-progress',
      body: { material_id: cw.m1, student_id: w.s1.id, percent: 50 },
      fields: { material_id: 'id', student_id: 'id', percent: 'percent' },
    },
    {
      method: 'POST',
      url: '/enrollments',
      body: { class_id: w.c2, student_id: w.s1.id },
      fields: { class_id: 'id', student_id: 'id' },
    },
    {
      method: 'DELETE',
      url: '/enrollments/:class_id/:student_id',
      path: { class_id: w.c1, student_id: w.s1.id },
    },
    {
      method: 'POST',
      url: '/assignments',
      body: { class_id: w.c1, title: 'A', max_score: 10, due_at: date },
      fields: { class_id: 'id', title: 'title', max_score: 'max_score', due_at: 'datetime' },
    },
    { method: 'GET', url: '/assignments/:id', path: { id: cw.a1 } },
    {
      method: 'PATCH',
      url: '/assignments/:id',
      path: { id: cw.a1 },
      body: { title: 'B', max_score: 30, due_at: date },
      fields: { title: 'title', max_score: 'max_score', due_at: 'datetime' },
    },
    { method: 'DELETE', url: '/assignments/:id', path: { id: cw.a1 } },
    {
      method: 'POST',
      url: '/guardians',
      body: { parent_id: w.parent.id, student_id: w.s2.id },
      fields: { parent_id: 'id', student_id: 'id' },
    },
    {
      method: 'DELETE',
      url: '/guardians/:parent_id/:student_id',
      path: { parent_id: w.parent.id, student_id: w.s1.id },
    },
    {
      method: 'POST',
      url: '/tutor-links',
      body: { tutor_id: w.tutor.id, student_id: w.s2.id },
      fields: { tutor_id: 'id', student_id: 'id' },
    },
    {
      method: 'DELETE',
      url: '/tutor-links/:tutor_id/:student_id',
      path: { tutor_id: w.tutor.id, student_id: w.s1.id },
    },
    { method: 'GET', url: '/me' },
    { method: 'GET', url: '/users', query: { role: 'role', limit: 'limit', cursor: 'cursor' } },
    { method: 'GET', url: '/users/:id', path: { id: w.s1.id } },
    { method: 'GET', url: '/classes' },
    { method: 'GET', url: '/classes/:id', path: { id: w.c1 } },
    { method: 'GET', url: '/cache/hit-rate', query: { window: 'window', series: 'boolean' } },
    { method: 'GET', url: '/cache/stats' },
    {
      method: 'POST',
      url: '/cache/warm',
      body: { report_ids: [reports.distC1] },
      fields: { report_ids: 'ids' },
    },
    {
      method: 'POST',
      url: '/cache/warm',
      body: { report_type: 'custom', filters: { from: '2024-01-01' } },
      fields: { report_type: 'enum', filters: 'params' },
      optional: ['filters'],
    },
    { method: 'DELETE', url: '/cache' },
    { method: 'DELETE', url: '/cache/reports/:id', path: { id: reports.distC1 } },
    { method: 'GET', url: '/cache/dashboard' },
    { method: 'GET', url: '/health' },
    { method: 'GET', url: '/metrics' },
    { method: 'GET', url: '/docs' },
    { method: 'GET', url: '/docs/json' },
  ]

  const tables = [
    'tenants',
    'users',
    'classes',
    'enrollments',
    'guardians',
    'tutor_links',
    'assignments',
    'submissions',
    'materials',
    'material_progress',
    'reports',
  ] as const
  const reportIds = Object.values(reports)
  // Everything a refused request could have changed, read back as the admin.
  const snapshot = async () => {
    const rows: Record<string, unknown> = {}
    for (const table of tables) rows[table] = await db.selectFrom(table).selectAll().execute()
    for (const key of Object.keys(rows)) {
      rows[key] = (rows[key] as Record<string, unknown>[]).map((r) => JSON.stringify(r)).sort()
    }
    const bodies: Record<number, unknown> = {}
    for (const id of reportIds) bodies[id] = (await getReport(app, admin, id)).data
    return { rows, bodies }
  }
  const cacheKeys = async () => (await app.reportCache.storeStats(T))?.keys

  const before = await snapshot()
  const keysBefore = await cacheKeys()
  const fiveHundreds: string[] = []
  const accepted: string[] = []
  let total = 0

  for (const route of routes) {
    const list = attacks(route)
    let refused = 0
    for (const attack of list) {
      const res = await app.inject({
        method: route.method,
        url: attack.url,
        headers: {
          ...bearer(admin),
          ...(attack.contentType ? { 'content-type': attack.contentType } : {}),
        },
        ...(attack.payload !== undefined ? { payload: attack.payload } : {}),
      })
      const label = `${route.method} ${route.url} ${attack.what}`
      if (res.statusCode >= 500) fiveHundreds.push(`${label}: ${res.statusCode} ${res.body.slice(0, 200)}`)
      if (res.statusCode < 400) accepted.push(`${label}: ${res.statusCode}`)
      const shapeOk = (() => {
        if (res.headers['cache-control'] !== 'no-store') return false
        if (route.method === 'HEAD') return true
        const body = res.json() as Record<string, unknown>
        return (
          body.statusCode === res.statusCode &&
          body.error === STATUS_CODES[res.statusCode] &&
          typeof body.code === 'string' &&
          typeof body.message === 'string' &&
          body.message.length > 0
        )
      })()
      if (res.statusCode >= 400 && res.statusCode < 500 && shapeOk) refused++
      else t.fail(`${label}: ${res.statusCode} ${res.headers['cache-control']} ${res.body.slice(0, 200)}`)
    }
    total += list.length
    t.ok(list.length >= 50, `${route.method} ${route.url}: at least 50 invalid inputs`)
    t.comment(
      `${route.method} ${route.url}: ${list.length} invalid inputs, ${refused} refused with a 4xx in the error shape`,
    )
  }
  t.comment(`total: ${total} invalid inputs over ${routes.length} route entries`)
  t.same(fiveHundreds, [], '0 × 5xx')
  t.same(accepted, [], '0 malformed inputs accepted')
  t.same(await snapshot(), before, 'nothing changed: tables and report bodies read back as admin')
  t.equal(await cacheKeys(), keysBefore, 'refused requests stored nothing in the cache')
})
