// The cache commands as a user runs them (child processes) against the test's
// database and the test app's Redis prefix: warm fills the keys GET reads
// (HIT next), invalidate bumps what DELETE /cache… bumps, stats reads the same
// figures as GET /cache/stats and /cache/hit-rate. On PGlite the database is a
// temporary folder that the test closes while a writer command runs.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import t from 'tap'
import { openDatabase } from '../db/connect.js'
import { migrateToLatest } from '../db/migrate.js'
import { type App, buildApp } from '../src/app.js'
import { deleteByPrefix } from './cache/store-contract.js'
import { bearer, TEST_JWT_SECRET, testConfig } from './helpers/app.js'
import { createTestDatabase, type TestDatabase } from './helpers/database.js'
import { createReport, getReport } from './helpers/reports.js'
import { addAssignment, addSubmission, buildWorld } from './helpers/world.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const DATABASE_URL = process.env.DATABASE_URL || undefined
const PREFIX = `test-clic-${randomBytes(4).toString('hex')}:`

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function cli(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

t.test('warm, invalidate and stats from the command line', async (t) => {
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => {
    await deleteByPrefix(redis, PREFIX)
    redis.disconnect()
  })
  const dataDir = mkdtempSync(join(tmpdir(), 'cli-cache-'))
  // Postgres: the test's own schema. PGlite: a folder the CLI opens as a server would.
  let db: TestDatabase = DATABASE_URL
    ? await createTestDatabase(t)
    : { ...(await openDatabase({ dataDir: join(dataDir, 'pg') })) }
  if (!DATABASE_URL) await migrateToLatest(db.db)
  const env = {
    DATABASE_URL,
    DATABASE_SCHEMA: db.schema,
    DATA_DIR: dataDir,
    REDIS_URL,
    REDIS_PREFIX: PREFIX,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
  }

  let app: App | undefined
  const open = async () => {
    app = await buildApp({
      config: testConfig(db, { redisUrl: REDIS_URL, redisPrefix: PREFIX, dataDir }),
      db,
      logger: false,
    })
    await app.ready()
    return app
  }
  /** On PGlite a writer command needs the folder to itself. */
  const release = async () => {
    await app?.close()
    app = undefined
    if (!DATABASE_URL) await db.close()
  }
  const reopen = async () => {
    if (!DATABASE_URL) db = { ...(await openDatabase({ dataDir: join(dataDir, 'pg') })) }
    return open()
  }
  t.teardown(release)

  const w = await buildWorld(db.db)
  const a1 = await addAssignment(db.db, w.tenant1, w.c1, 10, '2024-03-10T00:00:00Z', 'a1')
  await addSubmission(db.db, w.tenant1, a1, w.s1.id, '2024-03-09T00:00:00Z', 7)
  let server = await open()
  const R = {
    an1: await createReport(server, w.admin, 'analytics', {}),
    an2: await createReport(server, w.admin, 'analytics', { class_ids: [w.c1] }),
    cu: await createReport(server, w.admin, 'custom', { metric: 'avg_score', group_by: 'class' }),
    other: await createReport(server, w.admin2, 'analytics', {}),
  }
  t.equal((await getReport(server, w.admin, R.an1)).headers['x-cache'], 'MISS')
  await release()

  t.test('warm', async (t) => {
    const byType = await cli(['warm', '--type', 'analytics'], env)
    t.equal(byType.code, 0, byType.stderr)
    t.equal(byType.stdout, 'warmed 3 of 3 reports\n', 'both tenants, an1 already cached')
    t.match(byType.stderr, /^warm tenant 1: 2\/2 \(100%\)/m, 'plain progress lines when not on a terminal')
    t.match(byType.stderr, /^warm tenant 2: done/m)

    const named = await cli(['warm', '--report', String(R.cu), '--report', '999999', '--json'], env)
    t.equal(named.code, 1, 'a failed report fails the command')
    t.same(JSON.parse(named.stdout), {
      total: 2,
      cached: 1,
      failed: 1,
      errors: [{ report_id: 999999, message: 'Report 999999 not found' }],
    })
    t.match(named.stderr, /cli warm: 1 of 2 reports could not be warmed/)

    const month = await cli(['warm', '--report', String(R.an2), '--granularity', 'month'], env)
    t.equal(month.code, 0, month.stderr)
  })

  t.test('what was warmed is a HIT for the server', async (t) => {
    server = await reopen()
    t.equal((await getReport(server, w.admin, R.an2)).headers['x-cache'], 'HIT')
    t.equal((await getReport(server, w.admin, R.an2, 'granularity=month')).headers['x-cache'], 'HIT')
    t.equal((await getReport(server, w.admin, R.cu)).headers['x-cache'], 'HIT')
    t.equal((await getReport(server, w.admin2, R.other)).headers['x-cache'], 'HIT', 'as its own admin')
  })

  t.test('invalidate', async (t) => {
    const one = await cli(['invalidate', '--tenant', String(w.tenant1), '--report', String(R.an2)], env)
    t.equal(one.code, 0, one.stderr)
    t.equal(one.stdout, `Report cache invalidated: report ${R.an2}, 2 keys\n`)
    t.equal((await getReport(server, w.admin, R.an2)).headers['x-cache'], 'MISS', 'the report is recomputed')
    t.equal((await getReport(server, w.admin, R.cu)).headers['x-cache'], 'HIT', 'other reports stay')

    const foreign = await cli(['invalidate', '--tenant', String(w.tenant1), '--report', String(R.other)], env)
    t.equal(foreign.code, 1)
    t.match(foreign.stderr, `Report ${R.other} not found`)

    const all = await cli(['invalidate', '--tenant', String(w.tenant1)], env)
    t.equal(all.code, 0, all.stderr)
    t.match(all.stdout, new RegExp(`^Cache invalidated: tenant ${w.tenant1}, \\d+ keys\\n$`))
    t.equal((await getReport(server, w.admin, R.cu)).headers['x-cache'], 'MISS')
    t.equal((await getReport(server, w.admin2, R.other)).headers['x-cache'], 'HIT', 'tenant 2 untouched')
  })

  t.test('stats', async (t) => {
    await server.hitRate.flush()
    const api = async (url: string) =>
      (await server.inject({ method: 'GET', url, headers: bearer(w.admin) })).json()
    const json = await cli(['stats', '--tenant', String(w.tenant1), '--json'], env)
    t.equal(json.code, 0, json.stderr)
    const [figures] = JSON.parse(json.stdout)
    t.equal(figures.tenant, w.tenant1)
    t.same(figures.stats, await api('/cache/stats'), 'the figures of GET /cache/stats')
    const rate = await api('/cache/hit-rate')
    t.match(figures.hit_rate, {
      total_requests: rate.total_requests,
      hits: rate.hits,
      misses: rate.misses,
      hit_rate: rate.hit_rate,
      source: 'shared',
    })
    // Tenant 1's GETs: 1 before the first app closed (flushed on close), 3 reads after warming, 3 around invalidations.
    t.equal(rate.total_requests, 7, 'counts of both app lives, shared')

    const text = await cli(['stats'], env)
    t.equal(text.code, 0, text.stderr)
    t.match(text.stdout, /^TTL: student_progress 300s, .*default 600s$/m)
    t.match(text.stdout, new RegExp(`^tenant ${w.tenant1}: redis \\(operational\\), \\d+ entries`, 'm'))
    t.match(text.stdout, new RegExp(`^tenant ${w.tenant2}: redis`, 'm'))
    t.match(text.stdout, /hit rate \(1h\): \d+\.\d\d% of \d+ requests/)
  })

  t.test('usage errors and a missing REDIS_URL', async (t) => {
    for (const [args, message] of [
      [['warm'], 'give --type or --report, not both'],
      [['warm', '--type', 'nope'], '--type must be one of'],
      [['warm', '--report', 'x'], '--report must be a report id'],
      [['invalidate', '--report', '1'], '--tenant is required'],
      [['stats', '--window', '2h'], '--window must be one of 1m, 5m, 1h, 24h'],
    ] as const) {
      const run = await cli([...args], env)
      t.equal(run.code, 2, args.join(' '))
      t.match(run.stderr, message)
    }
    const { REDIS_URL: _, ...withoutRedis } = env
    const noRedis = await cli(['stats'], withoutRedis)
    t.equal(noRedis.code, 1)
    t.match(noRedis.stderr, /needs REDIS_URL/)
  })

  t.test('failures exit non-zero and say why', async (t) => {
    // A port nobody listens on: connection refused. The three runs at once (each is a process start).
    const port = await freePort()
    const unreachable = { ...env, REDIS_URL: `redis://127.0.0.1:${port}` }
    const commands = [
      ['stats', '--json'],
      ['invalidate', '--tenant', '1'],
    ]
    const [unknown, ...runs] = await Promise.all([
      cli(['invalidate', '--tenant', '99'], env),
      ...commands.map((command) => cli(command, unreachable)),
    ])
    t.equal(unknown.code, 1, 'an unknown tenant fails')
    t.match(unknown.stderr, /^cli invalidate: no tenant 99: nothing was invalidated$/m)
    t.equal(unknown.stdout, '')

    for (const [i, command] of commands.entries()) {
      const run = runs[i]
      t.equal(run.code, 1, `${command.join(' ')}: exit 1 with Redis unreachable`)
      t.equal(run.stdout, '', `${command.join(' ')}: no figures that look real`)
      t.match(run.stderr, new RegExp(`Redis at 127\\.0\\.0\\.1:${port} is unreachable \\(ECONNREFUSED\\)`))
    }
  })
})

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
