// Report filters: validation naming the field, normalisation (order,
// defaults, format) so equal filters give equal bodies and cache keys.
import t from 'tap'
import { canonicalFilters, normaliseFilters } from '../src/reports/filters.js'
import { buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import { createReport, getReport } from './helpers/reports.js'
import { addAssignment, addSubmission, buildWorld } from './helpers/world.js'

t.test('normaliseFilters', async (t) => {
  t.same(normaliseFilters('analytics', {}), { granularity: 'week' }, 'analytics defaults to weeks')
  t.same(normaliseFilters('student_progress', {}), {})
  const a = normaliseFilters('analytics', {
    to: '2024-03-31',
    granularity: 'month',
    from: '2024-03-01',
    class_id: '7',
  })
  const b = normaliseFilters('analytics', {
    class_id: '7',
    from: '2024-03-01',
    to: '2024-03-31',
    granularity: 'month',
  })
  t.same(a, { class_id: 7, from: '2024-03-01', granularity: 'month', to: '2024-03-31' })
  t.same(Object.keys(a), ['class_id', 'from', 'granularity', 'to'], 'keys in sorted order')
  t.equal(canonicalFilters(a), canonicalFilters(b))
  t.equal(canonicalFilters(a), '{"class_id":7,"from":"2024-03-01","granularity":"month","to":"2024-03-31"}')
  t.equal(
    canonicalFilters({ to: '2024-01-02', from: '2024-01-01' }),
    '{"from":"2024-01-01","to":"2024-01-02"}',
  )
  t.equal(
    canonicalFilters(normaliseFilters('analytics', {})),
    canonicalFilters(normaliseFilters('analytics', { granularity: 'week' })),
    'an explicit default is the same entry',
  )
  t.same(normaliseFilters('custom', { from: '2024-02-29', to: '2024-02-29' }), {
    from: '2024-02-29',
    to: '2024-02-29',
  })

  const bad: [string, Record<string, unknown>, string][] = [
    ['custom', { from: '2024-3-1' }, 'querystring.from must be a date YYYY-MM-DD'],
    ['custom', { from: '2023-02-29' }, 'querystring.from must be a date YYYY-MM-DD'],
    ['custom', { to: '2024-13-01' }, 'querystring.to must be a date YYYY-MM-DD'],
    ['custom', { to: '2024-04-31' }, 'querystring.to must be a date YYYY-MM-DD'],
    ['custom', { to: '2024-03-01T00:00:00Z' }, 'querystring.to must be a date YYYY-MM-DD'],
    [
      'custom',
      { from: '2024-03-02', to: '2024-03-01' },
      'querystring.to must not be before querystring.from',
    ],
    ['custom', { class_id: '0' }, 'querystring.class_id must be a positive integer'],
    ['custom', { class_id: '007' }, 'querystring.class_id must be a positive integer'],
    ['custom', { class_id: '2147483648' }, 'querystring.class_id must be a positive integer'],
    ['custom', { from: '0000-01-01' }, 'querystring.from must be a date YYYY-MM-DD'],
    ['custom', { from: '1969-12-31' }, 'querystring.from must be a date YYYY-MM-DD'],
    ['custom', { class_id: '1.5' }, 'querystring.class_id must be a positive integer'],
    ['custom', { class_id: '99999999999' }, 'querystring.class_id must be a positive integer'],
    ['custom', { granularity: 'week' }, 'querystring.granularity applies to analytics reports only'],
    [
      'student_progress',
      { granularity: 'month' },
      'querystring.granularity applies to analytics reports only',
    ],
    ['analytics', { granularity: 'day' }, 'querystring.granularity must be week or month'],
    ['analytics', { from: ['2024-01-01', '2024-01-02'] }, 'querystring.from must be a single value'],
    ['analytics', { foo: '1' }, 'querystring.foo is not an allowed query parameter'],
  ]
  for (const [type, raw, message] of bad) {
    t.throws(
      () => normaliseFilters(type as 'custom', raw),
      { code: 'INVALID_FILTER', statusCode: 400, message },
      JSON.stringify(raw),
    )
  }
})

t.test('filters over HTTP', async (t) => {
  const handle = await createTestDatabase(t)
  const db = handle.db
  const app = await buildTestApp(t, handle)
  const w = await buildWorld(db)
  const a = await addAssignment(db, w.tenant1, w.c1, 10, '2024-03-10T00:00:00Z')
  await addSubmission(db, w.tenant1, a, w.s1.id, '2024-03-01T00:00:00Z', 5)
  await addSubmission(db, w.tenant1, a, w.s2.id, '2024-03-31T23:59:59Z', 10)
  const analytics = await createReport(app, w.admin, 'analytics', {})
  const progress = await createReport(app, w.admin, 'student_progress', { student_id: w.s1.id })

  t.test('order of parameters does not matter', async (t) => {
    const one = (
      await getReport(app, w.admin, analytics, 'from=2024-03-01&to=2024-03-31&granularity=month')
    ).json()
    const two = (
      await getReport(app, w.admin, analytics, 'granularity=month&to=2024-03-31&from=2024-03-01')
    ).json()
    t.same(one.filters, { from: '2024-03-01', granularity: 'month', to: '2024-03-31' })
    t.same(two.filters, one.filters)
    t.same(two.data, one.data)
    // Both ends inclusive: 03-01 00:00:00 and 03-31 23:59:59 are in.
    t.equal(one.data.series[0].submissions, 2)
  })

  t.test('bad values: 400 naming the field', async (t) => {
    const cases: [number, string, string, string][] = [
      [analytics, 'from=yesterday', 'INVALID_FILTER', 'querystring.from must be a date YYYY-MM-DD'],
      [analytics, 'to=2024-02-30', 'INVALID_FILTER', 'querystring.to must be a date YYYY-MM-DD'],
      [
        analytics,
        'from=2024-04-01&to=2024-03-01',
        'INVALID_FILTER',
        'querystring.to must not be before querystring.from',
      ],
      [analytics, 'granularity=year', 'INVALID_FILTER', 'querystring.granularity must be week or month'],
      [analytics, 'class_id=abc', 'INVALID_FILTER', 'querystring.class_id must be a positive integer'],
      [
        progress,
        'granularity=week',
        'INVALID_FILTER',
        'querystring.granularity applies to analytics reports only',
      ],
      [analytics, 'foo=1', 'FST_ERR_VALIDATION', 'querystring.foo is not an allowed query parameter'],
      [
        progress,
        'from=2024-01-01&sort=asc',
        'FST_ERR_VALIDATION',
        'querystring.sort is not an allowed query parameter',
      ],
    ]
    for (const [id, query, code, message] of cases) {
      const res = await getReport(app, w.admin, id, query)
      t.equal(res.statusCode, 400, query)
      t.match(res.json(), { statusCode: 400, code, message })
    }
  })

  t.test("bad filters on another tenant's report are still 404", async (t) => {
    // A 400 would reveal that the report exists (and, for granularity, its type).
    for (const query of ['from=nonsense', 'granularity=week']) {
      const res = await getReport(app, w.admin2, progress, query)
      t.equal(res.statusCode, 404, query)
      t.equal(res.json().code, 'REPORT_NOT_FOUND')
    }
  })
})
