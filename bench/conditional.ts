// Conditional GET throughput, in one run: (a) 304 to If-None-Match on a cached
// report, (b) 200 HIT of the same report, (c) a bare Fastify route returning the
// same bytes from memory with the same content type.
//   [DATABASE_URL=postgres://…] [REDIS_URL=redis://…] npx tsx bench/conditional.ts
//     [--duration 8] [--connections 50] [--rounds 3] [--cases abc] [--profile DIR]
// The servers run in a child process and autocannon in this one, so the load
// generator does not share the servers' event loop. Writes bench/results/conditional.md.
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
import pg from 'pg'
import { openDatabase } from '../db/connect.js'
import { migrateToLatest } from '../db/migrate.js'
import { buildApp } from '../src/app.js'
import { mintToken } from '../src/auth/token.js'
import { loadConfig } from '../src/config.js'

interface Ready {
  type: 'ready'
  reportUrl: string
  bareUrl: string
  token: string
  etag: string
  bytes: number
  engine: string
  store: string
}

// ---- child: the app and the bare route ---------------------------------------

async function serve(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL || undefined
  const schema = databaseUrl ? `bench_cond_${randomBytes(4).toString('hex')}` : undefined
  const handle = await openDatabase({ databaseUrl, schema, dataDir: 'memory://', poolSize: 10 })
  await migrateToLatest(handle.db)
  const { db } = handle

  // A class of 30 students, 6 assignments, every student submitted and graded.
  const tenant = await db
    .insertInto('tenants')
    .values({ name: 'Bench' })
    .returning('id')
    .executeTakeFirstOrThrow()
  const user = (role: 'admin' | 'teacher' | 'student', key: string) =>
    db
      .insertInto('users')
      .values({ tenant_id: tenant.id, role, email: `${key}@bench.test`, name: key })
      .returning(['id', 'tenant_id', 'role'])
      .executeTakeFirstOrThrow()
  const admin = await user('admin', 'admin')
  const teacher = await user('teacher', 'teacher')
  const klass = await db
    .insertInto('classes')
    .values({ tenant_id: tenant.id, name: 'Bench class', teacher_id: teacher.id })
    .returning('id')
    .executeTakeFirstOrThrow()
  const students = []
  for (let i = 0; i < 30; i++) students.push(await user('student', `s${i}`))
  await db
    .insertInto('enrollments')
    .values(students.map((s) => ({ tenant_id: tenant.id, class_id: klass.id, student_id: s.id })))
    .execute()
  for (let a = 0; a < 6; a++) {
    const assignment = await db
      .insertInto('assignments')
      .values({
        tenant_id: tenant.id,
        class_id: klass.id,
        title: `A${a}`,
        max_score: 20,
        due_at: `2024-0${a + 1}-15T00:00:00Z`,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    await db
      .insertInto('submissions')
      .values(
        students.map((s, i) => ({
          tenant_id: tenant.id,
          assignment_id: assignment.id,
          student_id: s.id,
          submitted_at: `2024-0${a + 1}-1${i % 10}T00:00:00Z`,
          score: (i * 7 + a) % 21,
          graded_at: `2024-0${a + 1}-20T00:00:00Z`,
        })),
      )
      .execute()
  }

  const config = {
    ...loadConfig({}),
    databaseUrl,
    databaseSchema: schema,
    redisUrl: process.env.REDIS_URL || undefined,
    redisPrefix: `bench:${randomBytes(4).toString('hex')}:`,
    jwtSecret: randomBytes(24).toString('hex'),
    logLevel: 'silent',
  }
  const app = await buildApp({ config, db: handle, logger: false })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const token = mintToken(config.jwtSecret, { sub: admin.id, tid: tenant.id, role: 'admin' }, 3600)
  const authorization = `Bearer ${token}`
  const created = await fetch(`${origin}/reports`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'grade_distribution', title: 'Bench', params: { class_id: klass.id } }),
  })
  const { id } = (await created.json()) as { id: number }
  const reportUrl = `${origin}/reports/${id}`
  // Warm: a MISS computes and stores, the next GET must be a HIT.
  const miss = await fetch(reportUrl, { headers: { authorization } })
  const body = Buffer.from(await miss.arrayBuffer())
  const hit = await fetch(reportUrl, { headers: { authorization } })
  await hit.arrayBuffer()
  if (miss.headers.get('x-cache') !== 'MISS' || hit.headers.get('x-cache') !== 'HIT') {
    throw new Error(
      `warm-up: expected MISS then HIT, got ${miss.headers.get('x-cache')}, ${hit.headers.get('x-cache')}`,
    )
  }

  // (c) The same bytes and content type from a bare Fastify instance: no hooks, no auth.
  const bare = Fastify({ logger: false })
  const contentType = miss.headers.get('content-type') ?? 'application/json; charset=utf-8'
  bare.get('/bare', (_request, reply) => {
    reply.header('content-type', contentType).send(body)
  })
  await bare.listen({ host: '127.0.0.1', port: 0 })

  const ready: Ready = {
    type: 'ready',
    reportUrl,
    bareUrl: `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}/bare`,
    token,
    etag: miss.headers.get('etag') as string,
    bytes: body.length,
    engine: handle.engine,
    store: config.redisUrl ? 'redis' : 'memory',
  }
  process.send?.(ready)
  process.on('message', async (message: { type: string }) => {
    if (message.type !== 'stop') return
    await bare.close()
    await app.close()
    await handle.close()
    if (databaseUrl && schema) {
      const client = new pg.Client({ connectionString: databaseUrl })
      await client.connect()
      await client.query(`drop schema if exists "${schema}" cascade`)
      await client.end()
    }
    process.exit(0)
  })
}

// ---- parent: autocannon -------------------------------------------------------

interface Case {
  key: 'a' | 'b' | 'c'
  name: string
  url: string
  headers: Record<string, string>
  status: number
}

interface Measured {
  rps: number
  p50: number
  p99: number
}

async function measure(c: Case, opts: { duration: number; connections: number }): Promise<Measured> {
  const result = await autocannon({
    url: c.url,
    headers: c.headers,
    connections: opts.connections,
    duration: opts.duration,
  })
  const codes = result.statusCodeStats ?? {}
  const wrong = Object.entries(codes).filter(([code]) => Number(code) !== c.status)
  if (wrong.length > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${c.name}: expected only ${c.status}, got ${JSON.stringify(codes)}, errors ${result.errors}`,
    )
  }
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 }
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '8' },
      connections: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '3' },
      serve: { type: 'boolean', default: false },
      // Writes a V8 CPU profile of the server process into this folder (for hot-path work).
      profile: { type: 'string' },
      // A subset of the cases, e.g. `a` to profile the 304 alone (no results file then).
      cases: { type: 'string', default: 'abc' },
    },
  })
  if (values.serve) return serve()
  const opts = {
    duration: Number(values.duration),
    connections: Number(values.connections),
    rounds: Number(values.rounds),
  }

  const child = fork(fileURLToPath(import.meta.url), ['--serve'], {
    execArgv: [
      '--import',
      'tsx',
      ...(values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Ready))
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)))
  })
  const auth = { authorization: `Bearer ${ready.token}` }
  const all: Case[] = [
    {
      key: 'a',
      name: '(a) 304: If-None-Match on the cached report',
      url: ready.reportUrl,
      headers: { ...auth, 'if-none-match': ready.etag },
      status: 304,
    },
    { key: 'b', name: '(b) 200 HIT of the same report', url: ready.reportUrl, headers: auth, status: 200 },
    {
      key: 'c',
      name: '(c) bare Fastify route, same bytes from memory',
      url: ready.bareUrl,
      headers: {},
      status: 200,
    },
  ]
  const cases = all.filter((c) => values.cases.includes(c.key))
  const loadBefore = os.loadavg()[0]
  // Warm-up (JIT, connection pools), not reported.
  for (const c of cases) await measure(c, { ...opts, duration: 2 })
  // Rounds interleave the cases, so a change of machine load hits them alike;
  // figures are the median over rounds.
  const runs = new Map<string, Measured[]>(cases.map((c) => [c.key, []]))
  for (let round = 0; round < opts.rounds; round++) {
    for (const c of cases) runs.get(c.key)?.push(await measure(c, opts))
  }
  const loadAfter = os.loadavg()[0]
  child.send({ type: 'stop' })
  await new Promise((resolve) => child.once('exit', resolve))

  const rps = (key: string) => median((runs.get(key) ?? []).map((m) => m.rps))
  if (cases.length < 3) {
    for (const c of cases) console.log(`${c.name}: ${Math.round(rps(c.key))} req/s`)
    return
  }
  const bare = rps('c')
  const cpus = os.cpus()
  const lines = [
    '# Conditional GET throughput',
    '',
    `One run on ${new Date().toISOString().slice(0, 10)}: ${ready.engine} + ${ready.store} cache store; ` +
      `autocannon, ${opts.connections} connections, 127.0.0.1; ${opts.rounds} rounds of ${opts.duration} s per ` +
      'case, interleaved, after a 2 s warm-up of each; servers in one child process, autocannon in the ' +
      `parent; ${cpus.length} CPUs (${cpus[0]?.model.trim()}), Node ${process.version}; 1-min load average ` +
      `${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after. Report body: ${ready.bytes} bytes.`,
    '',
    '| case | status | req/s (median) | req/s range | p50 ms | p99 ms | vs bare |',
    '|---|---|---|---|---|---|---|',
    ...cases.map((c) => {
      const measured = runs.get(c.key) ?? []
      const all = measured.map((m) => m.rps)
      return (
        `| ${c.name} | ${c.status} | ${Math.round(rps(c.key))} | ` +
        `${Math.round(Math.min(...all))}–${Math.round(Math.max(...all))} | ` +
        `${median(measured.map((m) => m.p50))} | ${median(measured.map((m) => m.p99))} | ` +
        `${(rps(c.key) / bare).toFixed(2)} |`
      )
    }),
    '',
  ]
  const table = lines.join('\n')
  console.log(table)
  writeFileSync(join(fileURLToPath(new URL('.', import.meta.url)), 'results', 'conditional.md'), table)
}

await main()
