// The summaries under concurrent writers (no lost or doubled delta): graders
// changing scores in parallel while the assignments they grade are rescaled
// and moved in time, and students enrol, leave and make progress; afterwards
// `aggregates check` (the CLI, a child process) exits 0, a tampered summary
// makes it exit 1, and `aggregates rebuild` repairs it.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import t from 'tap'
import { checkAggregates } from '../db/aggregates.js'
import { bearer, buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import { addClass, addMaterial, addTenant, addUser, enroll } from './helpers/reports.js'
import { addAssignment, addSubmission } from './helpers/world.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

function cli(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
    })
    child.stderr.on('data', (chunk) => {
      out += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out }))
  })
}

t.test('concurrent writers leave the summaries exact', async (t) => {
  const handle = await createTestDatabase(t)
  const db = handle.db
  const app = await buildTestApp(t, handle)
  const T = await addTenant(db, 'Busy')
  const admin = await addUser(db, T, 'admin', 'busy-admin')
  const classes = [await addClass(db, T, 'A'), await addClass(db, T, 'B')]
  const students: number[] = []
  for (let i = 0; i < 12; i++) students.push((await addUser(db, T, 'student', `busy-${i}`)).id)
  for (const c of classes) for (const s of students) await enroll(db, T, c, s)
  const assignments: number[] = []
  const submissions: number[] = []
  for (const [i, c] of classes.entries()) {
    for (let a = 0; a < 3; a++) {
      const id = await addAssignment(db, T, c, 20, `2024-03-${10 + a * 3 + i}T12:00:00Z`)
      assignments.push(id)
      for (const [k, s] of students.entries()) {
        submissions.push(await addSubmission(db, T, id, s, `2024-03-${8 + ((a + k) % 9)}T10:00:00Z`, k % 5))
      }
    }
  }
  const materials = [await addMaterial(db, T, classes[0]), await addMaterial(db, T, classes[1])]

  const send = async (method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: object) => {
    const res = await app.inject({ method, url, headers: bearer(admin), payload })
    if (res.statusCode >= 500) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
  }
  const graders = Array.from({ length: 8 }, async (_, g) => {
    for (let i = 0; i < 20; i++) {
      const id = submissions[(g * 31 + i * 7) % submissions.length]
      await send('PATCH', `/submissions/${id}`, { score: (g + i) % 11 })
    }
  })
  const structure = (async () => {
    for (let i = 0; i < 12; i++) {
      const id = assignments[i % assignments.length]
      await send('PATCH', `/assignments/${id}`, {
        max_score: 20 + (i % 3),
        due_at: `2024-03-${10 + (i % 8)}T00:00:00Z`,
      })
    }
  })()
  const families = (async () => {
    for (let i = 0; i < 12; i++) {
      const s = students[i % students.length]
      const c = classes[i % 2]
      await send('PUT', '/material-progress', {
        material_id: materials[i % 2],
        student_id: s,
        percent: 10 * (i % 10),
      })
      if (i % 3 === 0) await send('DELETE', `/enrollments/${c}/${s}`)
      else await send('POST', '/enrollments', { class_id: c, student_id: s })
    }
  })()
  await Promise.all([...graders, structure, families])
  t.same(await checkAggregates(db), [], 'no summary differs from the raw data')

  if (handle.databaseUrl && handle.schema) {
    const env = { DATABASE_URL: handle.databaseUrl, DATABASE_SCHEMA: handle.schema }
    const clean = await cli(['aggregates', 'check'], env)
    t.equal(clean.code, 0, clean.out)
    await sql`update agg_work_tenant_day set graded = graded + 1
      where (tenant_id, day, shard) = (select tenant_id, day, shard from agg_work_tenant_day limit 1)`.execute(
      db,
    )
    const tampered = await cli(['aggregates', 'check'], env)
    t.equal(tampered.code, 1, 'check exits 1 on a difference')
    t.match(tampered.out, /agg_work_tenant_day: 1 stale rows, 1 missing rows/)
    const rebuilt = await cli(['aggregates', 'rebuild'], env)
    t.equal(rebuilt.code, 0, rebuilt.out)
    t.same(await checkAggregates(db), [], 'rebuild repaired it')
  }
})
