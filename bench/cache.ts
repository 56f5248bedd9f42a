// Report cache throughput, in one run, on the large seed:
//   (a) a report HIT (admin, tenant-wide analytics), on the Redis store and on the memory store;
//   (b) a MISS on the large dataset: every request carries a distinct `from=` date (before
//       the first submission, so each one computes the full report) — tenant-wide analytics
//       (the heaviest report) and one class's grade distribution (a typical one);
//   (c) a bare Fastify route returning the same bytes as (a) from memory.
//   DATABASE_URL=postgres://… [REDIS_URL=redis://…] npx tsx bench/cache.ts [--schema seed_large]
//     [--duration 10] [--connections 50] [--miss-connections 50]
// The servers run in a child process, autocannon in this one (they do not share an event
// loop). Without the schema (npm run cli -- seed --size large into it), a medium seed is
// made in a throwaway schema and the results say so. Writes bench/results/cache.md.
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import pg from 'pg'
import { openDatabase } from '../db/connect.js'
import { migrateToLatest } from '../db/migrate.js'
import { seedDatabase } from '../db/seed/index.js'
import { type App, buildApp } from '../src/app.js'
import { mintToken } from '../src/auth/token.js'
import { loadConfig } from '../src/config.js'

interface Ready {
  type: 'ready'
  redisOrigin: string | undefined
  memoryOrigin: string
  bareUrl: string
  token: string
  analyticsId: number
  distributionId: number
  distributionParams: string
  bytes: number
  dataset: string
  submissions: number
  missMs: { analytics: number; distribution: number }
}

function option(name: string, fallback: string): string {
  const { values } = parseArgs({ options: { [name]: { type: 'string' } }, strict: false })
  const value = values[name]
  return typeof value === 'string' ? value : fallback
}

// ---- child: the apps and the bare route --------------------------------------

async function serve(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL
  if (!databaseUrl) throw new Error('DATABASE_URL is required (a Postgres holding the large seed)')
  const redisUrl = process.env.REDIS_URL || undefined
  const wanted = option('schema', 'seed_large')

  const probe = new pg.Client({ connectionString: databaseUrl })
  await probe.connect()
  const exists = await probe.query(
    `select 1 from information_schema.tables where table_schema = $1 and table_name = 'submissions'`,
    [wanted],
  )
  await probe.end()
  // Without the large seed: a medium one in a schema of our own, dropped at the end.
  const throwaway = exists.rowCount === 0 ? `bench_cache_${randomBytes(4).toString('hex')}` : undefined
  const schema = throwaway ?? wanted
  const handle = await openDatabase({ databaseUrl, schema, poolSize: 10 })
  await migrateToLatest(handle.db)
  if (throwaway) await seedDatabase(handle.db, { size: 'medium' })
  const { db } = handle
  const submissions = Number(
    (await sql<{ n: number }>`select count(*)::int as n from submissions`.execute(db)).rows[0].n,
  )

  const admin = await db
    .selectFrom('users')
    .select(['id', 'tenant_id'])
    .where('email', '=', 'admin@demo.test')
    .executeTakeFirstOrThrow()
  const analytics = await db
    .selectFrom('reports')
    .select('id')
    .where('tenant_id', '=', admin.tenant_id)
    .where('type', '=', 'analytics')
    .where(sql<boolean>`params = '{}'::jsonb`)
    .orderBy('id')
    .executeTakeFirstOrThrow()
  const distribution = await db
    .selectFrom('reports')
    .select(['id', 'params'])
    .where('tenant_id', '=', admin.tenant_id)
    .where('type', '=', 'grade_distribution')
    .where(sql<boolean>`params ? 'class_id'`)
    .orderBy('id')
    .executeTakeFirstOrThrow()

  const jwtSecret = randomBytes(24).toString('hex')
  const prefix = `bench:cache:${randomBytes(4).toString('hex')}:`
  const base = {
    ...loadConfig({}),
    databaseUrl,
    databaseSchema: schema,
    jwtSecret,
    logLevel: 'silent',
    dataDir: os.tmpdir(),
    seedOnFirstStart: false,
  }
  const listen = async (app: App) => {
    await app.listen({ host: '127.0.0.1', port: 0 })
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  }
  const apps: App[] = []
  const memoryApp = await buildApp({ config: base, db: handle, logger: false })
  apps.push(memoryApp)
  const memoryOrigin = await listen(memoryApp)
  let redisOrigin: string | undefined
  if (redisUrl) {
    const redisApp = await buildApp({
      config: { ...base, redisUrl, redisPrefix: prefix },
      db: handle,
      logger: false,
    })
    apps.push(redisApp)
    redisOrigin = await listen(redisApp)
  }

  const token = mintToken(jwtSecret, { sub: admin.id, tid: admin.tenant_id, role: 'admin' }, 3600)
  const authorization = `Bearer ${token}`
  const timed = async (url: string) => {
    const started = performance.now()
    const res = await fetch(url, { headers: { authorization } })
    const body = Buffer.from(await res.arrayBuffer())
    return { res, body, ms: performance.now() - started }
  }
  // Warm: a MISS computes and stores, the next GET must be a HIT, on both stores.
  let body = Buffer.alloc(0)
  let contentType = 'application/json; charset=utf-8'
  const missMs = { analytics: 0, distribution: 0 }
  for (const origin of [redisOrigin, memoryOrigin]) {
    if (!origin) continue
    const miss = await timed(`${origin}/reports/${analytics.id}`)
    const hit = await timed(`${origin}/reports/${analytics.id}`)
    if (miss.res.headers.get('x-cache') !== 'MISS' || hit.res.headers.get('x-cache') !== 'HIT') {
      throw new Error(
        `warm-up: expected MISS then HIT, got ${miss.res.headers.get('x-cache')}, ${hit.res.headers.get('x-cache')}`,
      )
    }
    if (!hit.body.equals(miss.body)) throw new Error('warm-up: HIT body differs from the MISS body')
    body = hit.body
    contentType = hit.res.headers.get('content-type') ?? contentType
    missMs.analytics = miss.ms
    missMs.distribution = (await timed(`${origin}/reports/${distribution.id}?to=2099-12-31`)).ms
  }

  // (c) The same bytes and content type from a bare Fastify instance: no hooks, no auth.
  const bare = Fastify({ logger: false })
  bare.get('/bare', (_request, reply) => {
    reply.header('content-type', contentType).send(body)
  })
  await bare.listen({ host: '127.0.0.1', port: 0 })

  const ready: Ready = {
    type: 'ready',
    redisOrigin,
    memoryOrigin,
    bareUrl: `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}/bare`,
    token,
    analyticsId: analytics.id,
    distributionId: distribution.id,
    distributionParams: JSON.stringify(distribution.params),
    bytes: body.length,
    dataset: throwaway ? `medium seed (schema ${wanted} not found)` : `schema \`${schema}\``,
    submissions,
    missMs,
  }
  process.send?.(ready)
  process.on('message', async (message: { type: string }) => {
    if (message.type === 'drain') {
      // autocannon stops sending at the end of a case, but the server still computes what it
      // received: wait for that, so the next case does not compete with the last one's leftovers.
      while (apps.some((app) => app.reportCache.inFlight > 0)) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      process.send?.({ type: 'drained' })
      return
    }
    if (message.type !== 'stop') return
    await bare.close()
    for (const app of apps) await app.close()
    await handle.close()
    if (redisUrl) {
      // The bench's entries and tag versions, under its own prefix (SCAN, never KEYS).
      const client = new Redis(redisUrl)
      let cursor = '0'
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        cursor = next
        if (keys.length > 0) await client.del(...keys)
      } while (cursor !== '0')
      client.disconnect()
    }
    if (throwaway) {
      const client = new pg.Client({ connectionString: databaseUrl })
      await client.connect()
      await client.query(`drop schema if exists "${throwaway}" cascade`)
      await client.end()
    }
    process.exit(0)
  })
}

// ---- parent: autocannon -------------------------------------------------------

interface Row {
  name: string
  result: autocannon.Result
  xCache: Record<string, number>
  connections: number
}

interface Case {
  name: string
  url: string
  headers: Record<string, string>
  /** Every response must carry this X-Cache (undefined: none expected). */
  xCache?: 'HIT' | 'MISS'
  /** A distinct path per request (MISS cases). */
  path?: () => string
  warmup: boolean
  connections: number
  /** autocannon's per-request timeout, seconds. */
  timeout: number
}

async function measure(c: Case, duration: number): Promise<Row> {
  const xCache: Record<string, number> = {}
  const run = (seconds: number) =>
    autocannon({
      url: c.url,
      headers: c.headers,
      connections: c.connections,
      duration: seconds,
      timeout: c.timeout,
      requests: [
        {
          method: 'GET',
          ...(c.path ? { setupRequest: (req) => ({ ...req, path: c.path?.() }) } : {}),
          onResponse: (_status, _body, _context, headers) => {
            const value = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'x-cache')?.[1]
            const key = value === undefined ? 'none' : String(value)
            xCache[key] = (xCache[key] ?? 0) + 1
          },
        },
      ],
    })
  // Warm-up (JIT, connection pools), not reported.
  if (c.warmup) await run(2)
  for (const key of Object.keys(xCache)) delete xCache[key]
  const result = await run(duration)
  const codes = result.statusCodeStats ?? {}
  const wrong = Object.entries(codes).filter(([code]) => Number(code) !== 200)
  if (wrong.length > 0 || result.errors > 0 || result.timeouts > 0) {
    console.error(
      `${c.name}: status ${JSON.stringify(codes)}, errors ${result.errors}, timeouts ${result.timeouts}`,
    )
  }
  const expected = c.xCache ?? 'none'
  const other = Object.keys(xCache).filter((k) => k !== expected)
  if (other.length > 0)
    console.error(`${c.name}: expected X-Cache ${expected} only, got ${JSON.stringify(xCache)}`)
  return { name: c.name, result, xCache, connections: c.connections }
}

/** Distinct `from=` dates, all before the seed's first submission: each is a full computation. */
function distinctFrom(): () => string {
  let day = 0
  const start = Date.UTC(1990, 0, 1)
  return () => new Date(start + day++ * 86_400_000).toISOString().slice(0, 10)
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
      'miss-connections': { type: 'string', default: '50' },
      schema: { type: 'string', default: 'seed_large' },
      serve: { type: 'boolean', default: false },
    },
  })
  if (values.serve) return serve()
  const loadBefore = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')
  const duration = Number(values.duration)
  const connections = Number(values.connections)
  const missConnections = Number(values['miss-connections'])

  const child = fork(fileURLToPath(import.meta.url), ['--serve', '--schema', values.schema], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Ready))
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)))
  })
  const headers = { authorization: `Bearer ${ready.token}` }
  const origin = ready.redisOrigin ?? ready.memoryOrigin
  const store = ready.redisOrigin ? 'Redis' : 'memory'
  const analyticsFrom = distinctFrom()
  const distributionFrom = distinctFrom()
  const cases: Case[] = [
    ...(ready.redisOrigin
      ? [
          {
            name: '(a) HIT, Redis store — analytics `{}`',
            url: `${ready.redisOrigin}/reports/${ready.analyticsId}`,
            headers,
            xCache: 'HIT' as const,
            warmup: true,
            connections,
            timeout: 10,
          },
        ]
      : []),
    {
      name: '(a) HIT, memory store — analytics `{}`',
      url: `${ready.memoryOrigin}/reports/${ready.analyticsId}`,
      headers,
      xCache: 'HIT',
      warmup: true,
      connections,
      timeout: 10,
    },
    {
      name: `(b) MISS, ${store} store — analytics \`{}\`, distinct from= per request`,
      url: `${origin}/reports/${ready.analyticsId}`,
      headers,
      xCache: 'MISS',
      path: () => `/reports/${ready.analyticsId}?from=${analyticsFrom()}`,
      warmup: false,
      // Half the pool (a computation holds two Postgres connections at once): more only
      // queue for a connection past the pool's 5 s acquire timeout (500s) for a report
      // that takes ~0.6 s of 2 CPUs.
      connections: Math.min(missConnections, 5),
      timeout: 120,
    },
    {
      name: `(b) MISS, ${store} store — grade_distribution \`${ready.distributionParams}\`, distinct from=`,
      url: `${origin}/reports/${ready.distributionId}`,
      headers,
      xCache: 'MISS',
      path: () => `/reports/${ready.distributionId}?from=${distributionFrom()}`,
      warmup: true,
      connections: missConnections,
      timeout: 120,
    },
    {
      name: '(c) bare Fastify route, same bytes from memory',
      url: ready.bareUrl,
      headers: {},
      warmup: true,
      connections,
      timeout: 10,
    },
  ]
  const drained = () =>
    new Promise<void>((resolve) => {
      child.once('message', () => resolve())
      child.send({ type: 'drain' })
    })
  const rows: Row[] = []
  for (const c of cases) {
    await drained()
    console.error(`running ${c.name} …`)
    rows.push(await measure(c, duration))
  }
  child.send({ type: 'stop' })
  await new Promise((resolve) => child.once('exit', resolve))

  const bare = rows[rows.length - 1].result.requests.average
  const hit = rows[0].result.requests.average
  const fmt = (n: number) => (n >= 100 ? String(Math.round(n)) : n.toFixed(1))
  const lines = [
    '# Report cache throughput: HIT, MISS, bare route',
    '',
    `One run on ${new Date().toISOString().slice(0, 10)} (\`npx tsx bench/cache.ts\`): Postgres, ${ready.dataset}, ` +
      `${ready.submissions.toLocaleString('en')} submissions; autocannon on 127.0.0.1, ${duration} s per case ` +
      `(HIT and bare after a 2 s warm-up); the servers in one child process, autocannon in the parent; ` +
      `${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), shared with other work (load average ` +
      `${loadBefore} before the run); Node ${process.version}. ` +
      `Admin token. Report body: ${ready.bytes} bytes. A single uncached GET took ` +
      `${Math.round(ready.missMs.analytics)} ms (analytics) and ${Math.round(ready.missMs.distribution)} ms ` +
      '(distribution) before the run.',
    '',
    '| case | connections | req/s (mean) | p50 ms | p99 ms | non-2xx / errors | X-Cache seen | vs bare | vs HIT |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const req = r.result.requests.average
      const bad = r.result.non2xx + r.result.errors + r.result.timeouts
      const seen = Object.entries(r.xCache)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
      return (
        `| ${r.name} | ${r.connections} | ${fmt(req)} | ${r.result.latency.p50} | ${r.result.latency.p99} | ${bad} | ` +
        `${seen} | ${(req / bare).toFixed(req / bare < 0.01 ? 5 : 2)} | ${(req / hit).toFixed(req / hit < 0.01 ? 5 : 2)} |`
      )
    }),
    '',
    'MISS: every request has its own cache key (a distinct `from=` date, earlier than any submission, so',
    'the data is the whole report); the cache stores each result, so these rows include the store write.',
    'The analytics MISS runs with 5 connections (each computation holds 2 of the 10 Postgres pool',
    'connections at once): with more, requests queue for a pool connection beyond its 5 s acquire',
    'timeout and fail. MISS latencies are mostly that queue;',
    'Postgres shares the 2 CPUs with the server and autocannon. Between cases the server finishes',
    'the computations still running before the next case starts.',
    '',
  ]
  const table = lines.join('\n')
  console.log(table)
  writeFileSync(join(fileURLToPath(new URL('.', import.meta.url)), 'results', 'cache.md'), table)
}

await main()
