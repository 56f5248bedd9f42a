// Deterministic demo data (API.md "Authentication and tenancy"): tenant 1
// "Demo School" whose user 1 is admin@demo.test, tenant 2 "Other School".
// The same size and seed give the same rows on pg and PGlite; all inserts run
// in one transaction, so a failed seed leaves nothing behind.
import { type Kysely, sql } from 'kysely'
import { TENANT_WIDE_TAG } from '../../src/cache/keys.js'
import { appendRecords } from '../../src/invalidation/log.js'
import { refillAggregates } from '../aggregates.js'
import type { Database, Db } from '../database.js'
import { invalidationTrigger, TRIGGERED_TABLES } from '../migrations/2026-12-01-001-invalidation-log.js'
import { AGGREGATE_TRIGGERS } from '../migrations/2026-12-01-002-aggregates.js'
import { STUDENT_MONTH_TRIGGERS } from '../migrations/2026-12-01-004-aggregates-student-month.js'
import { BulkWriter, iso } from './bulk.js'
import { type PlannedSchool, planSchool } from './plan.js'
import { createRandom } from './random.js'
import { insertReports } from './reports.js'
import { OTHER_SCHOOL, PROFILES, type SeedSize, YEAR_START_MS } from './sizes.js'
import {
  type PlannedAssignment,
  type PlannedMaterial,
  planAssignments,
  planMaterials,
  progressFor,
  submissionsFor,
} from './work.js'

export { SEED_SIZES, type SeedSize } from './sizes.js'

export const DEFAULT_SEED = 1

export interface SeedOptions {
  size: SeedSize
  seed?: number
  /** Empty every table first (TRUNCATE … RESTART IDENTITY CASCADE); otherwise a database with data is refused. */
  reset?: boolean
  progress?: (done: number, total: number, label: string) => void
}

export type SeedSummary = {
  tenants: number
  users: number
  classes: number
  assignments: number
  submissions: number
  materials: number
  material_progress: number
  reports: number
}

/** Seeding was refused: the database already holds data and no reset was asked for. */
export class SeedRefusedError extends Error {
  constructor() {
    super('the database already has data; pass --reset to replace it with the demo data')
    this.name = 'SeedRefusedError'
  }
}

const TABLES_WITH_SERIAL_ID = [
  'tenants',
  'users',
  'classes',
  'assignments',
  'submissions',
  'materials',
  'reports',
]

export async function hasData(db: Db): Promise<boolean> {
  return (await db.selectFrom('tenants').select('id').limit(1).execute()).length > 0
}

/**
 * Empties every table of the current schema except Kysely's migration
 * bookkeeping and the invalidation log: the TRUNCATE records itself there
 * (every tenant, everything), and the log's seqs must keep rising, since the
 * stores skip seqs they remember applying.
 */
export async function resetDatabase(db: Db): Promise<void> {
  const { rows } = await sql<{ tablename: string }>`
    select tablename from pg_tables
    where schemaname = current_schema() and tablename not like 'kysely\\_%'
      and tablename not in ('invalidation_log', 'invalidation_consumers')
    order by tablename`.execute(db)
  if (rows.length === 0) return
  await sql`truncate table ${sql.join(rows.map((r) => sql.table(r.tablename)))} restart identity cascade`.execute(
    db,
  )
}

export async function seedDatabase(db: Kysely<Database>, options: SeedOptions): Promise<SeedSummary> {
  const seed = options.seed ?? DEFAULT_SEED
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer between 0 and ${0xffffffff}`)
  }
  const profile = PROFILES[options.size]
  if (!profile) throw new RangeError(`size must be one of ${Object.keys(PROFILES).join(', ')}`)
  const progress = options.progress ?? (() => {})

  const summary = await db.transaction().execute(async (trx) => {
    if (options.reset) await resetDatabase(trx)
    else if (await hasData(trx)) throw new SeedRefusedError()
    // The summaries are filled once at the end instead of by the triggers per
    // batch, and the invalidation log gets one whole-tenant record per seeded
    // tenant instead of a record per tag the batches touch (122,713 records on
    // the large seed, which a service's relay then spent about 1 s of Redis
    // time applying, in scripts of 30 ms each). Safe: ALTER TABLE holds a lock
    // that keeps every other writer out until commit, and the triggers are
    // enabled again before it.
    await setSeedTriggers(trx, 'disable')

    await trx
      .insertInto('tenants')
      .values([
        { id: 1, name: profile.name },
        { id: 2, name: OTHER_SCHOOL.name },
      ])
      .execute()
    const ids = { user: 1, class: 1 }
    const schools = [
      planSchool(profile, 1, ids, createRandom(seed, 'school:1')),
      planSchool(OTHER_SCHOOL, 2, ids, createRandom(seed, 'school:2')),
    ]
    const counts = await insertPeople(trx, schools, progress)

    let assignmentId = 1
    let materialId = 1
    const work = schools.map((school) => {
      const random = createRandom(seed, `work:${school.tenantId}`)
      const per = school.tenantId === 1 ? profile : OTHER_SCHOOL
      return school.classes.map((klass) => ({
        klass,
        assignments: planAssignments(klass, per.assignmentsPerClass, () => assignmentId++, random),
        materials: planMaterials(klass, per.materialsPerClass, () => materialId++, random),
      }))
    })
    const assignments = work.flat().flatMap((w) => w.assignments)
    const materials = work.flat().flatMap((w) => w.materials)
    await insertAll(
      trx,
      'assignments',
      assignments,
      progress,
      'id:int tenant_id:int class_id:int title:text max_score:numeric due_at:timestamptz created_at:timestamptz',
      (a) => [a.id, a.tenant_id, a.class_id, a.title, a.max_score, iso(a.due_ms), iso(a.created_ms)],
    )
    await insertAll(
      trx,
      'materials',
      materials,
      progress,
      'id:int tenant_id:int class_id:int title:text',
      (m) => [m.id, m.tenant_id, m.class_id, m.title],
    )

    const submissions = await insertSubmissions(trx, seed, schools, work, progress)
    const materialProgress = await insertProgress(trx, seed, work, progress)
    const reports = await insertReports(trx, schools, work[0][0].assignments[0])
    await setSeedTriggers(trx, 'enable')
    // The whole tenant, whatever was cached of it.
    for (const school of schools) await appendRecords(trx, school.tenantId, [TENANT_WIDE_TAG])
    progress(0, 1, 'summaries')
    await refillAggregates(trx)
    progress(1, 1, 'summaries')

    for (const table of TABLES_WITH_SERIAL_ID) {
      // Ids were explicit: move each sequence past them so later inserts do not collide.
      await sql`select setval(pg_get_serial_sequence(${table}, 'id'),
        coalesce((select max(id) from ${sql.table(table)}), 0) + 1, false)`.execute(trx)
    }
    return {
      tenants: 2,
      users: counts.users,
      classes: counts.classes,
      assignments: assignments.length,
      submissions,
      materials: materials.length,
      material_progress: materialProgress,
      reports,
    }
  })

  // Fresh statistics, or the planner guesses from an empty table.
  progress(0, 1, 'analyze')
  await sql`analyze ${sql.join(['tenants', 'users', 'classes', 'enrollments', 'guardians', 'tutor_links', 'assignments', 'submissions', 'materials', 'material_progress', 'reports', 'agg_work_day', 'agg_work_tenant_day', 'agg_work_class', 'agg_work_class_month', 'agg_work_student_month', 'agg_progress_enrollment', 'agg_progress_class'].map((t) => sql.table(t)))}`.execute(
    db,
  )
  progress(1, 1, 'analyze')
  return summary
}

/** The summary triggers and the invalidation log's row triggers (TRUNCATE's stay: a reset records itself). */
async function setSeedTriggers(trx: Db, how: 'enable' | 'disable'): Promise<void> {
  const invalidation = Object.keys(TRIGGERED_TABLES).flatMap((table) =>
    (['insert', 'update', 'delete'] as const).map((op) => ({ table, name: invalidationTrigger(table, op) })),
  )
  for (const t of [...AGGREGATE_TRIGGERS, ...STUDENT_MONTH_TRIGGERS, ...invalidation]) {
    await sql`alter table ${sql.table(t.table)} ${sql.raw(how)} trigger ${sql.id(t.name)}`.execute(trx)
  }
}

type Progress = NonNullable<SeedOptions['progress']>
type Work = Array<
  Array<{
    klass: PlannedSchool['classes'][number]
    assignments: PlannedAssignment[]
    materials: PlannedMaterial[]
  }>
>

async function insertAll<T>(
  db: Db,
  table: string,
  items: readonly T[],
  progress: Progress,
  columns: string,
  cells: (item: T) => Array<number | string | null>,
): Promise<number> {
  const writer = new BulkWriter(db, table, columns)
  for (const item of items) if (writer.add(...cells(item))) await writer.flush()
  const written = await writer.finish()
  progress(written, items.length, table)
  return written
}

async function insertPeople(
  db: Db,
  schools: PlannedSchool[],
  progress: Progress,
): Promise<{ users: number; classes: number }> {
  const since = iso(YEAR_START_MS)
  const users = await insertAll(
    db,
    'users',
    schools.flatMap((s) => s.users),
    progress,
    'id:int tenant_id:int email:text name:text role:text',
    (u) => [u.id, u.tenant_id, u.email, u.name, u.role],
  )
  const classes = schools.flatMap((s) => s.classes)
  await insertAll(db, 'classes', classes, progress, 'id:int tenant_id:int name:text teacher_id:int', (c) => [
    c.id,
    c.tenant_id,
    c.name,
    c.teacher_id,
  ])
  const enrollments = classes.flatMap((c) => c.students.map((student_id) => ({ c, student_id })))
  await insertAll(
    db,
    'enrollments',
    enrollments,
    progress,
    'tenant_id:int class_id:int student_id:int created_at:timestamptz',
    (e) => [e.c.tenant_id, e.c.id, e.student_id, since],
  )
  await insertAll(
    db,
    'guardians',
    schools.flatMap((s) => s.guardians.map((g) => ({ ...g, tenant_id: s.tenantId }))),
    progress,
    'tenant_id:int parent_id:int student_id:int',
    (g) => [g.tenant_id, g.parent_id, g.student_id],
  )
  await insertAll(
    db,
    'tutor_links',
    schools.flatMap((s) => s.tutorLinks.map((l) => ({ ...l, tenant_id: s.tenantId }))),
    progress,
    'tenant_id:int tutor_id:int student_id:int',
    (l) => [l.tenant_id, l.tutor_id, l.student_id],
  )
  return { users, classes: classes.length }
}

async function insertSubmissions(
  db: Db,
  seed: number,
  schools: PlannedSchool[],
  work: Work,
  progress: Progress,
): Promise<number> {
  const writer = new BulkWriter(
    db,
    'submissions',
    'id:int tenant_id:int assignment_id:int student_id:int submitted_at:timestamptz score:numeric graded_at:timestamptz',
  )
  // Progress counts (student, assignment) pairs considered: known up front, unlike the submissions.
  const total = work.flat().reduce((n, w) => n + w.klass.students.length * w.assignments.length, 0)
  let done = 0
  let id = 1
  for (const [s, school] of schools.entries()) {
    const random = createRandom(seed, `submissions:${school.tenantId}`)
    for (const { klass, assignments } of work[s]) {
      for (const assignment of assignments) {
        for (const row of submissionsFor(assignment, klass, school.traits, random)) {
          const full = writer.add(
            id++,
            row.tenant_id,
            row.assignment_id,
            row.student_id,
            iso(row.submitted_ms),
            row.score,
            row.graded_ms === null ? null : iso(row.graded_ms),
          )
          if (full) {
            await writer.flush()
            progress(done, total, 'submissions: (student, assignment) pairs done')
          }
        }
        done += klass.students.length
      }
    }
  }
  const written = await writer.finish()
  // Along the way the pairs are counted; the last line gives the rows written, as the summary does.
  progress(written, written, 'submissions')
  return written
}

async function insertProgress(db: Db, seed: number, work: Work, progress: Progress): Promise<number> {
  const writer = new BulkWriter(
    db,
    'material_progress',
    'tenant_id:int material_id:int student_id:int percent:numeric updated_at:timestamptz',
  )
  const total = work.flat().reduce((n, w) => n + w.klass.students.length * w.materials.length, 0)
  let done = 0
  for (const [s, classes] of work.entries()) {
    const random = createRandom(seed, `progress:${s + 1}`)
    for (const { klass, materials } of classes) {
      for (const material of materials) {
        for (const row of progressFor(material, klass, random)) {
          if (writer.add(row.tenant_id, row.material_id, row.student_id, row.percent, iso(row.updated_ms))) {
            await writer.flush()
            progress(done, total, 'material progress: (student, material) pairs done')
          }
        }
        done += klass.students.length
      }
    }
  }
  const written = await writer.finish()
  progress(written, written, 'material progress')
  return written
}
