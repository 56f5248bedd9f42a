// Mutation latency with and without the summary triggers: GRADERS concurrent
// graders (default 8) PATCH scores of random submissions of tenant 1 back to
// back over real HTTP, for DURATION seconds per phase, phases alternating
// with / without / with / without. "Without" disables this migration's
// triggers (ALTER TABLE … DISABLE TRIGGER) — so only on a scratch database or
// schema: at the end the triggers are enabled again and the summaries rebuilt.
//   DATABASE_URL=postgres://… DATABASE_SCHEMA=scratch_large npx tsx bench/aggregates-mutations.ts
// Writes bench/results/aggregates-mutations-g<GRADERS>.md.
import { writeFileSync } from 'node:fs'
import { type Kysely, sql } from 'kysely'
import { rebuildAggregates } from '../db/aggregates.js'
import type { Database } from '../db/database.js'
import { AGGREGATE_TRIGGERS } from '../db/migrations/2026-12-01-002-aggregates.js'
import { STUDENT_MONTH_TRIGGERS } from '../db/migrations/2026-12-01-004-aggregates-student-month.js'
import { buildApp } from '../src/app.js'
import { mintToken } from '../src/auth/token.js'
import { loadConfig } from '../src/config.js'

const graders = Number(process.env.GRADERS ?? 8)
const seconds = Number(process.env.DURATION ?? 10)
if (!process.env.DATABASE_URL || !process.env.DATABASE_SCHEMA) {
  throw new Error('DATABASE_URL and DATABASE_SCHEMA (a scratch schema with a seed) are required')
}
const secret = 'bench-secret-of-sufficient-length'
const config = {
  ...loadConfig({ ...process.env, REDIS_URL: '' }),
  jwtSecret: secret,
  logLevel: 'silent' as const,
}
const app = await buildApp({ config })
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
if (address === null || typeof address === 'string') throw new Error('no port')
const base = `http://127.0.0.1:${address.port}`
const db = app.db as Kysely<Database>
const token = mintToken(secret, { sub: 1, tid: 1, role: 'admin' })

const { rows: targets } = await sql<{ id: number; max: number }>`
  select s.id, a.max_score::float8 as max from submissions s join assignments a on a.id = s.assignment_id
  where s.tenant_id = 1 order by random() limit 20000`.execute(db)

async function setTriggers(how: 'enable' | 'disable') {
  for (const t of [...AGGREGATE_TRIGGERS, ...STUDENT_MONTH_TRIGGERS]) {
    await sql`alter table ${sql.table(t.table)} ${sql.raw(how)} trigger ${sql.id(t.name)}`.execute(db)
  }
}

async function phase(): Promise<number[]> {
  const latencies: number[] = []
  const until = performance.now() + seconds * 1000
  let next = 0
  await Promise.all(
    Array.from({ length: graders }, async () => {
      while (performance.now() < until) {
        const target = targets[next++ % targets.length]
        const score = Math.round(Math.random() * target.max * 2) / 2
        const started = performance.now()
        const res = await fetch(`${base}/submissions/${target.id}`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ score }),
        })
        await res.arrayBuffer()
        if (res.status !== 200) throw new Error(`PATCH ${target.id}: ${res.status}`)
        latencies.push(performance.now() - started)
      }
    }),
  )
  return latencies
}

const results: Record<'with' | 'without', number[]> = { with: [], without: [] }
try {
  await phase() // warm-up, with the triggers
  for (const mode of ['with', 'without', 'with', 'without'] as const) {
    await setTriggers(mode === 'with' ? 'enable' : 'disable')
    results[mode].push(...(await phase()))
    process.stderr.write(`${mode}: ${results[mode].length} PATCHes so far\n`)
  }
} finally {
  await setTriggers('enable')
  await rebuildAggregates(db)
  await app.close()
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
const row = (mode: 'with' | 'without') => {
  const sorted = [...results[mode]].sort((a, b) => a - b)
  return { n: sorted.length, p50: pct(sorted, 50), p99: pct(sorted, 99), rps: sorted.length / (2 * seconds) }
}
const on = row('with')
const off = row('without')
const lines = [
  '# Mutation latency with and without the summary triggers',
  '',
  `${graders} concurrent graders, PATCH /submissions/:id back to back over HTTP (memory cache store),`,
  `tenant 1 of \`${process.env.DATABASE_SCHEMA}\`; phases of ${seconds} s alternating with/without, two each.`,
  '',
  '| triggers | PATCHes | req/s | p50 ms | p99 ms |',
  '|---|---|---|---|---|',
  `| with | ${on.n} | ${on.rps.toFixed(0)} | ${on.p50.toFixed(2)} | ${on.p99.toFixed(2)} |`,
  `| without | ${off.n} | ${off.rps.toFixed(0)} | ${off.p50.toFixed(2)} | ${off.p99.toFixed(2)} |`,
  '',
  `p50 with − without: **${(on.p50 - off.p50).toFixed(2)} ms**; p99 with / without: **${(on.p99 / off.p99).toFixed(2)}×**.`,
  '',
]
writeFileSync(new URL(`./results/aggregates-mutations-g${graders}.md`, import.meta.url), lines.join('\n'))
process.stdout.write(lines.join('\n'))
