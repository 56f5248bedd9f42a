// Uncached timing of every report definition of a seeded Postgres database,
// side by side with the reference computation (today's direct queries before
// the summary tables, test/reference/) in the same run, and the EXPLAIN
// (ANALYZE, BUFFERS) plan of the slowest query of each.
//   DATABASE_URL=postgres://… DATABASE_SCHEMA=seed_large npx tsx bench/report-timings.ts [--runs 5]
// Writes bench/results/report-timings.md.
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { Kysely, type LogEvent, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from '../db/database.js'
import { loadViewer } from '../src/access/viewer.js'
import { getReport } from '../src/reports/definitions.js'
import { normaliseFilters } from '../src/reports/filters.js'
import { uncachedReader } from '../src/reports/report-reader.js'
import { decideVisibility } from '../src/reports/run-report.js'
import { referenceReport } from '../test/reference/index.js'

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, query: { type: 'string', default: '' } },
})
const runs = Number(values.runs)
const url = process.env.DATABASE_URL
if (!url) throw new Error('DATABASE_URL is required (a Postgres with a large seed)')
const schema = process.env.DATABASE_SCHEMA

const pool = new pg.Pool({
  connectionString: url,
  max: 2,
  options: schema ? `-c search_path=${schema}` : undefined,
})
// The queries of the current run, with their durations, for EXPLAIN afterwards.
let recorded: { sql: string; parameters: readonly unknown[]; ms: number }[] = []
const db = new Kysely<Database>({
  dialect: new PostgresDialect({ pool }),
  log(event: LogEvent) {
    if (event.level === 'query') {
      recorded.push({
        sql: event.query.sql,
        parameters: event.query.parameters,
        ms: event.queryDurationMillis,
      })
    }
  },
})

const admin = await db
  .selectFrom('users')
  .select(['id', 'tenant_id'])
  .where('email', '=', 'admin@demo.test')
  .executeTakeFirstOrThrow()
const reports = await db
  .selectFrom('reports')
  .select(['id', 'type', 'params'])
  .where('tenant_id', '=', admin.tenant_id)
  .orderBy('id')
  .execute()
const principal = { id: admin.id, tenantId: admin.tenant_id, role: 'admin' as const }
const viewer = await loadViewer(db, principal)
// The API's pipeline (access, filters, body) over an empty cache: every read computes.
const reader = uncachedReader(db)
// --query 'from=2025-10-15&to=2026-03-20': the same filters on every report (and the reference).
const query = Object.fromEntries(new URLSearchParams(values.query))
const runReport = (id: number) => reader.read({ principal, reportId: id, query })

const table = [
  '# Uncached report timings',
  '',
  `Postgres${schema ? `, schema \`${schema}\`` : ''}; admin viewer, ${values.query ? `filters \`${values.query}\`` : 'no filters'}; one warm-up, then ${runs} runs;`,
  'the reference (raw-row queries, test/reference/) runs after, in the same process, for the ratio;',
  'wall time of the whole computation (all its queries), no cache involved.',
  '',
  '| report | type | params | median ms | min ms | max ms | queries | reference median ms | reference / summaries |',
  '|---|---|---|---|---|---|---|---|---|',
]
const plans = ['', '## Plan of the slowest query of each report (EXPLAIN ANALYZE, BUFFERS)', '']

for (const report of reports) {
  await runReport(report.id)
  const times: number[] = []
  let slowest = { sql: '', parameters: [] as readonly unknown[], ms: 0 }
  let queries = 0
  for (let i = 0; i < runs; i++) {
    recorded = []
    const started = performance.now()
    await runReport(report.id)
    times.push(performance.now() - started)
    queries = recorded.length
    for (const q of recorded) if (q.ms > slowest.ms) slowest = q
  }
  times.sort((a, b) => a - b)
  const median = times[Math.floor(times.length / 2)]
  const referenceTimes: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    const row = await getReport(db, admin.tenant_id, report.id)
    if (!row) throw new Error(`report ${report.id} is gone`)
    const visibility = await decideVisibility(db, viewer, row)
    if (visibility === 'forbidden') throw new Error(`the admin may not see report ${report.id}`)
    const resolved = { report: row, visibility, filters: normaliseFilters(row.type, query) }
    await referenceReport(db, viewer, resolved, () => new Date())
    referenceTimes.push(performance.now() - started)
  }
  referenceTimes.sort((a, b) => a - b)
  const referenceMedian = referenceTimes[Math.floor(referenceTimes.length / 2)]
  table.push(
    `| ${report.id} | ${report.type} | \`${JSON.stringify(report.params)}\` | ${median.toFixed(1)} | ${times[0].toFixed(1)} | ${times[times.length - 1].toFixed(1)} | ${queries} | ${referenceMedian.toFixed(1)} | ${(referenceMedian / median).toFixed(1)}× |`,
  )
  process.stderr.write(`report ${report.id} ${report.type}: median ${median.toFixed(1)} ms\n`)
  const explained = await pool.query(`explain (analyze, buffers) ${slowest.sql}`, [...slowest.parameters])
  plans.push(
    `### Report ${report.id} (${report.type})`,
    '',
    '```',
    slowest.sql,
    '',
    ...explained.rows.map((r) => r['QUERY PLAN']),
    '```',
    '',
  )
}

writeFileSync(
  new URL(`./results/report-timings${values.query ? '-filtered' : ''}.md`, import.meta.url),
  `${table.join('\n')}\n${plans.join('\n')}\n`,
)
await db.destroy()
