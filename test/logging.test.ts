// The log as an operator reads it, from the app's real logger options written
// to a captured stream: one access line per request (route, status, time,
// tenant, user, report, X-Cache), probes at debug, x-request-id honoured when
// sane and returned, secrets (headers, query tokens) never written, and with a
// private Redis that dies and comes back: one line down, one line back, no
// flood of per-request warnings in between.
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { type App, buildApp } from '../src/app.js'
import { loggingOptions, redactUrl, serializeError } from '../src/logging.js'
import { until } from './cache/store-contract.js'
import { bearer, testConfig } from './helpers/app.js'
import { createTestDatabase, type TestDatabase } from './helpers/database.js'
import { freePort, startRedisServer } from './helpers/redis-server.js'
import { createReport, getReport } from './helpers/reports.js'
import { addAssignment, addSubmission, buildWorld } from './helpers/world.js'

interface Line {
  level: number
  msg: string
  reqId?: string
  [field: string]: unknown
}

const DEBUG = 20
const INFO = 30
const WARN = 40

function capture(): { lines: Line[]; raw: string[]; stream: Writable } {
  const lines: Line[] = []
  const raw: string[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const text of String(chunk).split('\n').filter(Boolean)) {
        raw.push(text)
        lines.push(JSON.parse(text) as Line)
      }
      done()
    },
  })
  return { lines, raw, stream }
}

async function appWithLog(
  t: Test,
  db: TestDatabase,
  overrides: Parameters<typeof testConfig>[1] = {},
): Promise<{ app: App; lines: Line[]; raw: string[] }> {
  const { lines, raw, stream } = capture()
  const base = loggingOptions('debug').logger as object
  const app = await buildApp({ config: testConfig(db, overrides), db, logger: { ...base, stream } })
  t.teardown(() => app.close())
  await app.ready()
  return { app, lines, raw }
}

t.test('serializeError and redactUrl', async (t) => {
  t.same(serializeError({ message: 'down', code: 'ECONNREFUSED' }), { message: 'down', code: 'ECONNREFUSED' })
  const err = Object.assign(new Error('boom'), { code: 'E_BOOM' })
  t.match(serializeError(err), { type: 'Error', message: 'boom', code: 'E_BOOM', stack: /boom/ })
  const wrapped = new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'ETIMEDOUT' }) })
  t.match(serializeError(wrapped), { message: 'outer', cause: { message: 'inner', code: 'ETIMEDOUT' } })
  t.equal(
    redactUrl('/r?token=a&access_token=b&jwt=c&api_key=d&client_secret=e&Password=f&limit=5&q=token'),
    '/r?token=[redacted]&access_token=[redacted]&jwt=[redacted]&api_key=[redacted]&client_secret=[redacted]&Password=[redacted]&limit=5&q=token',
  )
  t.equal(redactUrl('/r?my%5Ftoken=x'), '/r?my%5Ftoken=[redacted]', 'names are decoded before the check')
  t.equal(redactUrl('/health'), '/health')
})

t.test('access lines, request ids, probes and secrets', async (t) => {
  const db = await createTestDatabase(t)
  const w = await buildWorld(db.db)
  const a1 = await addAssignment(db.db, w.tenant1, w.c1, 10, '2024-03-10T00:00:00Z', 'a1')
  await addSubmission(db.db, w.tenant1, a1, w.s1.id, '2024-03-09T00:00:00Z', 8)
  const { app, lines, raw } = await appWithLog(t, db)
  const report = await createReport(app, w.admin, 'analytics', {})
  const access = () => lines.filter((l) => l.msg === 'request')

  const before = access().length
  const res = await getReport(app, w.admin, report)
  t.equal(res.statusCode, 200)
  const line = access().at(-1)
  t.equal(access().length, before + 1, 'one line per request')
  t.match(line, {
    level: INFO,
    method: 'GET',
    route: '/reports/:id',
    status: 200,
    tenant: w.tenant1,
    user: w.admin.id,
    report: String(report),
    x_cache: 'MISS',
  })
  t.type(line?.duration_ms, 'number')
  t.equal(line?.reqId, res.headers['x-request-id'], 'the id of the line is returned to the client')

  t.test('x-request-id', async (t) => {
    const given = await app.inject({ url: '/health', headers: { 'x-request-id': 'trace-42.abc' } })
    t.equal(given.headers['x-request-id'], 'trace-42.abc', 'a valid id is honoured and returned')
    t.equal(lines.at(-1)?.reqId, 'trace-42.abc', 'and logged')
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
    for (const bad of ['has space', 'x'.repeat(129), 'é']) {
      const r = await app.inject({ url: '/health', headers: { 'x-request-id': bad } })
      t.match(
        r.headers['x-request-id'],
        uuid,
        `${JSON.stringify(bad.slice(0, 12))}: replaced by a generated id`,
      )
    }
    const one = await app.inject({ url: '/health' })
    const two = await app.inject({ url: '/health' })
    t.match(
      one.headers['x-request-id'],
      uuid,
      'generated: UUID-shaped, unique across processes (random per process, then a counter)',
    )
    t.not(one.headers['x-request-id'], two.headers['x-request-id'])
  })

  t.test('probes at debug, everything else at info', async (t) => {
    await app.inject({ url: '/health' })
    await app.inject({ url: '/metrics' })
    await app.inject({ url: '/nope' })
    const last = access().slice(-3)
    t.match(last[0], { route: '/health', level: DEBUG })
    t.match(last[1], { route: '/metrics', level: DEBUG })
    t.match(last[2], { route: 'unmatched', status: 404, level: INFO })
    t.equal(
      lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed').length,
      0,
      "Fastify's own two lines per request are off",
    )
  })

  t.test('no secret in any line', async (t) => {
    const token = bearer(w.admin).authorization.slice('Bearer '.length)
    const r = await app.inject({
      url: `/reports?limit=5&token=${token}&access_token=s3cr3t-a&api_key=s3cr3t-b`,
      headers: { ...bearer(w.admin), cookie: 'session=s3cr3t-c' },
    })
    t.ok(r.statusCode < 500)
    const l = access().at(-1)
    t.match(l?.url, /token=\[redacted\]&access_token=\[redacted\]&api_key=\[redacted\]/)
    t.match(l?.url, /limit=5/, 'other parameters kept')
    const all = raw.join('\n')
    t.notOk(all.includes(token), 'no bearer token anywhere in the log')
    t.notOk(/s3cr3t/.test(all), 'no query or cookie secret anywhere in the log')
  })
})

t.test('Redis down and back: one line each, no flood', async (t) => {
  const db = await createTestDatabase(t)
  const w = await buildWorld(db.db)
  const a1 = await addAssignment(db.db, w.tenant1, w.c1, 10, '2024-03-10T00:00:00Z', 'a1')
  await addSubmission(db.db, w.tenant1, a1, w.s1.id, '2024-03-09T00:00:00Z', 8)
  const redis = await startRedisServer(t)
  const { app, lines } = await appWithLog(t, db, { redisUrl: redis.url })
  const report = await createReport(app, w.admin, 'analytics', {})
  t.equal((await getReport(app, w.admin, report)).headers['x-cache'], 'MISS')
  const host = `127.0.0.1:${redis.port}`

  await redis.stop()
  await until(() => lines.some((l) => l.msg === 'cache.redis.down'), 'the down line')
  // Requests while Redis is down, and at least two hit-rate flushes (1 s apart).
  const flushes = () => lines.filter((l) => l.msg === 'cache.hit_rate.failure').length
  for (let i = 0; i < 10; i++) {
    t.equal((await getReport(app, w.admin, report)).headers['x-cache'], 'BYPASS')
  }
  await until(() => flushes() >= 2, 'two failed hit-rate flushes')

  const down = lines.filter((l) => l.msg === 'cache.redis.down')
  t.equal(down.length, 1, 'one down line')
  t.match(down[0], { level: WARN, host, reason: { message: String } })
  const warned = lines.filter((l) => l.level >= WARN && l.msg !== 'cache.redis.down')
  t.same(
    warned.map((l) => l.msg),
    [],
    'no per-request or per-flush warnings while Redis is down (cache.store.failure, cache.hit_rate.failure)',
  )
  t.ok(
    lines.some((l) => l.msg === 'cache.store.failure' && l.level === DEBUG),
    'failures are still there at debug',
  )
  t.notOk(
    lines.some((l) => (l.err as { type?: string } | undefined)?.type === 'Object'),
    'no error serialized as type Object',
  )

  await redis.start()
  await until(async () => {
    await getReport(app, w.admin, report)
    return lines.some((l) => l.msg === 'cache.redis.back')
  }, 'the back line')
  const back = lines.filter((l) => l.msg === 'cache.redis.back')
  t.equal(back.length, 1, 'one back line')
  t.match(back[0], { level: INFO, host, down_ms: Number, failures: Number })
  t.equal(lines.filter((l) => l.msg === 'cache.redis.down').length, 1, 'still one down line')
})

t.test('Redis unavailable at start names host and reason', async (t) => {
  const db = await createTestDatabase(t)
  const port = await freePort()
  const { app, lines } = await appWithLog(t, db, { redisUrl: `redis://127.0.0.1:${port}` })
  const start = lines.filter((l) => l.msg === 'cache.redis.unavailable_at_start')
  t.equal(start.length, 1)
  t.match(start[0], { level: WARN, host: `127.0.0.1:${port}`, reason: { code: 'ECONNREFUSED' } })
  t.equal((await app.inject({ url: '/health' })).json().redis, 'down')
})
