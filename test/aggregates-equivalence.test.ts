// The summary tables against the raw rows: on generated schools, after random
// sequences of mutations through the API, bulk statements and raw SQL writes
// (cascading deletes, moves, TRUNCATE), every analytics and custom report
// computed from the summaries has the very body bytes and tags of the
// reference (today's direct queries, test/reference/), and
// `aggregates check` finds no difference.
import fc from 'fast-check'
import { sql } from 'kysely'
import t from 'tap'
import { checkAggregates, rebuildAggregates } from '../db/aggregates.js'
import type { ReportRow } from '../db/database.js'
import { loadViewer, type Viewer } from '../src/access/viewer.js'
import { normaliseFilters } from '../src/reports/filters.js'
import { computeReport, type ResolvedReport } from '../src/reports/run-report.js'
import { bearer, buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import { addClass, addMaterial, addTenant, addUser, enroll } from './helpers/reports.js'
import { addAssignment } from './helpers/world.js'
import { referenceReport } from './reference/index.js'

const MAX_SCORES = [0.75, 3, 7, 10, 12.5, 20, 100]
const DAY_MS = 86_400_000
const START_MS = Date.UTC(2024, 1, 26) // a Monday; data spans about nine weeks
const iso = (ms: number) => new Date(ms).toISOString()

/** A small deterministic PRNG (mulberry32): the data of a run follows from its seed. */
function prng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) }
}

const score2 = (max: number, fraction: number) => Math.round(max * fraction * 100) / 100

const Command = fc.oneof(
  fc.record({
    kind: fc.constant('grade' as const),
    pick: fc.nat(),
    fraction: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
  }),
  fc.record({
    kind: fc.constant('submit' as const),
    pick: fc.nat(),
    student: fc.nat(),
    hours: fc.integer({ min: -200, max: 200 }),
  }),
  fc.record({ kind: fc.constant('unsubmit' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('rescale' as const), pick: fc.nat(), max: fc.constantFrom(...MAX_SCORES) }),
  fc.record({
    kind: fc.constant('move-due' as const),
    pick: fc.nat(),
    hours: fc.integer({ min: -100, max: 100 }),
  }),
  fc.record({ kind: fc.constant('drop-assignment' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('new-assignment' as const),
    klass: fc.nat(),
    max: fc.constantFrom(...MAX_SCORES),
  }),
  fc.record({ kind: fc.constant('enroll' as const), klass: fc.nat(), student: fc.nat() }),
  fc.record({ kind: fc.constant('unenroll' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('progress' as const),
    material: fc.nat(),
    student: fc.nat(),
    percent: fc.integer({ min: 0, max: 10000 }),
  }),
  fc.record({ kind: fc.constant('bulk-regrade' as const), modulo: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('bulk-delete' as const), modulo: fc.integer({ min: 2, max: 7 }) }),
  fc.record({ kind: fc.constant('bulk-shift' as const), hours: fc.integer({ min: -72, max: 72 }) }),
  fc.record({ kind: fc.constant('bulk-rescale' as const) }),
  fc.record({ kind: fc.constant('move-assignment' as const), pick: fc.nat(), klass: fc.nat() }),
  fc.record({ kind: fc.constant('move-material' as const), material: fc.nat(), klass: fc.nat() }),
  fc.record({ kind: fc.constant('drop-material' as const), material: fc.nat() }),
  fc.record({ kind: fc.constant('drop-student' as const), student: fc.nat() }),
  fc.record({ kind: fc.constant('drop-class' as const), klass: fc.nat() }),
  fc.record({ kind: fc.constant('bulk-progress' as const), percent: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ kind: fc.constant('truncate-progress' as const) }),
)
type Command = typeof Command extends fc.Arbitrary<infer C> ? C : never

t.test('reports from the summaries equal the reference queries', async (t) => {
  const handle = await createTestDatabase(t)
  const db = handle.db
  const app = await buildTestApp(t, handle)
  const now = () => new Date('2024-06-01T00:00:00.000Z')

  async function school(seed: number) {
    const r = prng(seed)
    const T = await addTenant(db, `School ${seed}`)
    const admin = await addUser(db, T, 'admin', `admin-${T}`)
    const teacher = await addUser(db, T, 'teacher', `teacher-${T}`)
    const other = await addUser(db, T, 'teacher', `other-${T}`)
    const classes: number[] = []
    for (let c = 0; c < 4; c++)
      classes.push(await addClass(db, T, `Class ${c}`, c < 2 ? teacher.id : other.id))
    const students: number[] = []
    for (let s = 0; s < 7; s++) students.push((await addUser(db, T, 'student', `s${s}-${T}`)).id)
    for (const c of classes) for (const s of students) if (r.next() < 0.6) await enroll(db, T, c, s)
    for (const c of classes) {
      for (let a = 0; a < r.int(1, 4); a++) {
        const due = START_MS + r.int(3, 60) * DAY_MS + r.int(0, 23) * 3_600_000
        const max = MAX_SCORES[r.int(0, MAX_SCORES.length - 1)]
        const id = await addAssignment(db, T, c, max, iso(due), `A${a}`)
        const { rows: enrolled } = await sql<{ student_id: number }>`
          select student_id from enrollments where class_id = ${c}`.execute(db)
        for (const { student_id } of enrolled) {
          if (r.next() < 0.2) continue
          const submitted = due + r.int(-120, 72) * 3_600_000 + r.int(0, 59) * 60_000
          const score = r.next() < 0.8 ? score2(max, r.next()) : null
          await db
            .insertInto('submissions')
            .values({ tenant_id: T, assignment_id: id, student_id, submitted_at: iso(submitted), score })
            .execute()
        }
      }
      for (let m = 0; m < r.int(0, 3); m++) {
        const material = await addMaterial(db, T, c, `M${m}`)
        for (const s of students) {
          if (r.next() < 0.5) {
            await db
              .insertInto('material_progress')
              .values({
                tenant_id: T,
                material_id: material,
                student_id: s,
                percent: r.int(0, 10000) / 100,
                updated_at: iso(START_MS),
              })
              .execute()
          }
        }
      }
    }
    return { T, admin, teacher, classes, students }
  }

  type School = Awaited<ReturnType<typeof school>>
  const ids = async (query: ReturnType<typeof sql<{ id: number }>>) =>
    (await query.execute(db)).rows.map((r) => r.id)
  const pick = <V>(list: V[], n: number): V | undefined =>
    list.length === 0 ? undefined : list[n % list.length]

  async function apply(s: School, cmd: Command): Promise<void> {
    const T = s.T
    const headers = bearer(s.admin)
    const send = async (method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: object) => {
      const res = await app.inject({ method, url, headers, payload })
      if (res.statusCode >= 500) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
    }
    const submissions = () => ids(sql`select id from submissions where tenant_id = ${T} order by id`)
    const assignments = () => ids(sql`select id from assignments where tenant_id = ${T} order by id`)
    const classes = () => ids(sql`select id from classes where tenant_id = ${T} order by id`)
    const materials = () => ids(sql`select id from materials where tenant_id = ${T} order by id`)
    const students = () =>
      ids(sql`select id from users where tenant_id = ${T} and role = 'student' order by id`)
    switch (cmd.kind) {
      case 'grade': {
        const id = pick(await submissions(), cmd.pick)
        if (id === undefined) return
        const { rows } = await sql<{ max: number }>`select a.max_score::float8 as max from submissions s
          join assignments a on a.id = s.assignment_id where s.id = ${id}`.execute(db)
        const score = cmd.fraction === null ? null : score2(rows[0].max, cmd.fraction)
        return send('PATCH', `/submissions/${id}`, { score })
      }
      case 'submit': {
        const assignment = pick(await assignments(), cmd.pick)
        const student = pick(await students(), cmd.student)
        if (assignment === undefined || student === undefined) return
        const submitted_at = iso(START_MS + 30 * DAY_MS + cmd.hours * 3_600_000)
        return send('POST', '/submissions', { assignment_id: assignment, student_id: student, submitted_at })
      }
      case 'unsubmit': {
        const id = pick(await submissions(), cmd.pick)
        return id === undefined ? undefined : send('DELETE', `/submissions/${id}`)
      }
      case 'rescale': {
        const id = pick(await assignments(), cmd.pick)
        // Scores above the new maximum are refused by the API; raw SQL may still leave them (> 100 %).
        return id === undefined ? undefined : send('PATCH', `/assignments/${id}`, { max_score: cmd.max })
      }
      case 'move-due': {
        const id = pick(await assignments(), cmd.pick)
        const due_at = iso(START_MS + 30 * DAY_MS + cmd.hours * 3_600_000)
        return id === undefined ? undefined : send('PATCH', `/assignments/${id}`, { due_at })
      }
      case 'drop-assignment': {
        const id = pick(await assignments(), cmd.pick)
        return id === undefined ? undefined : send('DELETE', `/assignments/${id}`)
      }
      case 'new-assignment': {
        const klass = pick(await classes(), cmd.klass)
        if (klass === undefined) return
        const due_at = iso(START_MS + 20 * DAY_MS)
        return send('POST', '/assignments', { class_id: klass, title: 'New', max_score: cmd.max, due_at })
      }
      case 'enroll': {
        const klass = pick(await classes(), cmd.klass)
        const student = pick(await students(), cmd.student)
        if (klass === undefined || student === undefined) return
        return send('POST', '/enrollments', { class_id: klass, student_id: student })
      }
      case 'unenroll': {
        const { rows } = await sql<{ class_id: number; student_id: number }>`select class_id, student_id
          from enrollments where tenant_id = ${T} order by class_id, student_id`.execute(db)
        const e = pick(rows, cmd.pick)
        return e === undefined ? undefined : send('DELETE', `/enrollments/${e.class_id}/${e.student_id}`)
      }
      case 'progress': {
        const material = pick(await materials(), cmd.material)
        const student = pick(await students(), cmd.student)
        if (material === undefined || student === undefined) return
        return send('PUT', '/material-progress', {
          material_id: material,
          student_id: student,
          percent: cmd.percent / 100,
        })
      }
      case 'bulk-regrade':
        await sql`update submissions s set score = round(a.max_score * ((s.id * 37) % 101) / 100.0, 2)
          from assignments a where a.id = s.assignment_id and s.tenant_id = ${T} and s.id % ${cmd.modulo} = 0`.execute(
          db,
        )
        return
      case 'bulk-delete':
        await sql`delete from submissions where tenant_id = ${T} and id % ${cmd.modulo} = 1`.execute(db)
        return
      case 'bulk-shift':
        await sql`update submissions set submitted_at = submitted_at + make_interval(hours => ${cmd.hours})
          where tenant_id = ${T}`.execute(db)
        return
      case 'bulk-rescale':
        await sql`update assignments set max_score = max_score * 2, due_at = due_at + interval '1 day'
          where tenant_id = ${T}`.execute(db)
        return
      case 'move-assignment': {
        const id = pick(await assignments(), cmd.pick)
        const klass = pick(await classes(), cmd.klass)
        if (id === undefined || klass === undefined) return
        await sql`update assignments set class_id = ${klass} where id = ${id}`.execute(db)
        return
      }
      case 'move-material': {
        const id = pick(await materials(), cmd.material)
        const klass = pick(await classes(), cmd.klass)
        if (id === undefined || klass === undefined) return
        await sql`update materials set class_id = ${klass} where id = ${id}`.execute(db)
        return
      }
      case 'drop-material': {
        const id = pick(await materials(), cmd.material)
        if (id !== undefined) await sql`delete from materials where id = ${id}`.execute(db)
        return
      }
      case 'drop-student': {
        const id = pick(await students(), cmd.student)
        if (id !== undefined) await sql`delete from users where id = ${id}`.execute(db)
        return
      }
      case 'drop-class': {
        const id = pick(await classes(), cmd.klass)
        // Reports must not go: delete those naming the class first (they reference users, not classes).
        if (id !== undefined) await sql`delete from classes where id = ${id}`.execute(db)
        return
      }
      case 'bulk-progress':
        await sql`insert into material_progress (tenant_id, material_id, student_id, percent)
          select ${T}, m.id, e.student_id, ${cmd.percent} from materials m join enrollments e on e.class_id = m.class_id
          where m.tenant_id = ${T}
          on conflict (student_id, material_id) do update set percent = excluded.percent`.execute(db)
        return
      case 'truncate-progress':
        await sql`truncate material_progress`.execute(db)
        return
    }
  }

  /** Every analytics and custom shape over the summaries, as the admin and as a teacher (personal). */
  async function compare(s: School): Promise<void> {
    const classes = await ids(sql`select id from classes where tenant_id = ${s.T} order by id`)
    const assignment = (await ids(sql`select id from assignments where tenant_id = ${s.T} order by id`))[0]
    const student = (
      await ids(sql`select id from users where tenant_id = ${s.T} and role = 'student' order by id`)
    )[0]
    const admin = await loadViewer(db, { id: s.admin.id, tenantId: s.T, role: 'admin' })
    const teacher = await loadViewer(db, { id: s.teacher.id, tenantId: s.T, role: 'teacher' })
    const filterSets: Record<string, string>[] = [
      {},
      { from: '2024-03-11', to: '2024-04-07' },
      { to: '2024-03-20' },
      // Whole months (per-month rows) with partial edges (per-day rows) on either side.
      { from: '2024-02-27', to: '2024-04-30' },
      { from: '2024-03-31', to: '2024-05-01' },
      ...(classes.length > 0 ? [{ class_id: String(classes[0]) }] : []),
    ]
    const shapes: Array<{ type: 'analytics' | 'custom'; params: Record<string, unknown> }> = [
      { type: 'analytics', params: {} },
      ...(classes.length >= 2
        ? [{ type: 'analytics' as const, params: { class_ids: classes.slice(0, 2) } }]
        : []),
    ]
    for (const metric of ['avg_score', 'submission_count', 'on_time_rate']) {
      for (const group_by of ['class', 'assignment', 'week', 'month', 'student']) {
        shapes.push({ type: 'custom', params: { metric, group_by } })
      }
      if (classes.length > 0)
        shapes.push({
          type: 'custom',
          params: { metric, group_by: 'assignment', where: { class_id: classes[0] } },
        })
      if (assignment !== undefined)
        shapes.push({
          type: 'custom',
          params: { metric, group_by: 'class', where: { assignment_id: assignment } },
        })
      if (student !== undefined)
        shapes.push({ type: 'custom', params: { metric, group_by: 'month', where: { student_id: student } } })
    }
    shapes.push({ type: 'custom', params: { metric: 'completion', group_by: 'class' } })
    shapes.push({ type: 'custom', params: { metric: 'completion', group_by: 'student' } })
    if (classes.length > 0)
      shapes.push({
        type: 'custom',
        params: { metric: 'completion', group_by: 'class', where: { class_id: classes[0] } },
      })

    const viewers: Array<[Viewer, 'shared' | 'personal']> = [
      [admin, 'shared'],
      [teacher, 'personal'],
    ]
    for (const shape of shapes) {
      for (const [viewer, visibility] of viewers) {
        if (
          visibility === 'personal' &&
          Object.keys(shape.params).some((k) => k !== 'metric' && k !== 'group_by')
        )
          continue
        for (const granularity of shape.type === 'analytics' ? ['week', 'month'] : [undefined]) {
          for (const raw of filterSets) {
            const report = {
              id: 1,
              tenant_id: s.T,
              type: shape.type,
              title: 'r',
              params: shape.params,
              created_by: s.admin.id,
              revision: 1,
              created_at: now(),
              updated_at: now(),
            } as ReportRow
            const filters = normaliseFilters(shape.type, granularity ? { ...raw, granularity } : raw)
            const resolved: ResolvedReport = { report, visibility, filters }
            const [mine, reference] = await Promise.all([
              computeReport(db, viewer, resolved, now),
              referenceReport(db, viewer, resolved, now),
            ])
            if (
              mine.body !== reference.body ||
              JSON.stringify(mine.tags) !== JSON.stringify(reference.tags)
            ) {
              t.fail('a report differs from the reference', {
                shape,
                visibility,
                filters,
                mine: mine.body,
                reference: reference.body,
                tags: [mine.tags, reference.tags],
              })
              throw new Error('differs')
            }
          }
        }
      }
    }
  }

  let runs = 0
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.array(Command, { maxLength: 14 }),
      async (seed, commands) => {
        const s = await school(seed)
        await compare(s)
        for (const cmd of commands) await apply(s, cmd)
        await compare(s)
        const differences = await checkAggregates(db)
        if (differences.length > 0) {
          t.fail('aggregates check found differences', { differences, commands })
          throw new Error('check')
        }
        runs++
      },
    ),
    { numRuns: Number(process.env.EQUIVALENCE_RUNS ?? 12), endOnFailure: true },
  )
  t.ok(runs > 0, `${runs} generated schools and mutation sequences: every body equal, check clean`)

  await t.test('check reports a tampered summary and rebuild repairs it', async (t) => {
    await sql`update agg_work_class set n = n + 1 where class_id = (select min(class_id) from agg_work_class)`.execute(
      db,
    )
    await sql`update agg_progress_class set sum_percent = sum_percent + 1 where shard = (select min(shard) from agg_progress_class)`.execute(
      db,
    )
    const found = (await checkAggregates(db)).map((d) => d.table).sort()
    t.same(found, ['agg_progress_class', 'agg_work_class'])
    await rebuildAggregates(db)
    t.same(await checkAggregates(db), [])
  })
})
