// Writes made outside the API (raw SQL through a separate connection, as psql,
// an import or another service would) invalidate like API writes: on each
// table a report or an access decision reads, an INSERT, UPDATE or DELETE
// makes the affected reports fresh on two instances within the deadline,
// while reports that did not read the change stay HIT with the same bytes.
// On the Redis store and on the memory store (each instance's relay applies
// the log to its own memory).

import t, { type Test } from 'tap'
import type { App } from '../src/app.js'
import { outsider } from './helpers/outsider.js'
import {
  type Caller,
  cacheApp,
  cacheWorld,
  createReports,
  freshData,
  getReport,
  STORES,
  storeOverrides,
  until,
} from './helpers/report-cache.js'
import { createReport } from './helpers/reports.js'

/** Fresh within this long after the commit (the p99 goal is 250 ms; the deadline leaves room for a loaded CI). */
const DEADLINE_MS = 5_000

interface Read {
  caller: Caller
  report: number
}

interface Case {
  name: string
  statement: string
  /** Must show the change (compared with a computation from the database). */
  affected: Read[]
  /** Must stay HIT with the same bytes. */
  unaffected: Read[]
}

async function warm(t: Test, apps: App[], reads: Read[]): Promise<Map<string, Buffer>> {
  const bytes = new Map<string, Buffer>()
  for (const [i, app] of apps.entries()) {
    for (const r of reads) {
      const res = await until(async () => {
        const got = await getReport(app, r.caller, r.report)
        return got.xCache === 'HIT' && got
      }, `report ${r.report} cached on instance ${i}`)
      bytes.set(`${i}:${r.report}:${r.caller.id}`, res.raw)
    }
  }
  t.pass('warmed')
  return bytes
}

for (const store of STORES) {
  t.test(`writes outside the API on the ${store} store`, async (t) => {
    const cw = await cacheWorld(t)
    const { w } = cw
    const overrides = storeOverrides(t, store)
    const a = (await cacheApp(t, cw, overrides)).app
    const b = (await cacheApp(t, cw, overrides)).app
    const apps = [a, b]
    const r = await createReports(a, cw)
    const run = await outsider(t, cw.db)
    const admin = w.admin
    const T = w.tenant1
    const read = (report: number, caller: Caller = admin): Read => ({ caller, report })

    const cases: Case[] = [
      {
        name: 'submissions INSERT',
        statement: `insert into submissions (tenant_id, assignment_id, student_id, submitted_at, score)
          values (${T}, ${cw.a2}, ${w.s1.id}, '2024-03-19T10:00:00Z', 15)`,
        affected: [read(r.progressS1), read(r.distC1), read(r.analyticsAll), read(r.customC1)],
        unaffected: [read(r.distC2), read(r.progressS2)],
      },
      {
        name: 'submissions UPDATE',
        statement: `update submissions set score = 10 where id = ${cw.subS3B1}`,
        affected: [read(r.distC2), read(r.analyticsC2)],
        unaffected: [read(r.distC1), read(r.progressS1)],
      },
      {
        name: 'submissions DELETE',
        statement: `delete from submissions where id = ${cw.subS2A1}`,
        affected: [read(r.distC1), read(r.progressS2), read(r.distA1)],
        unaffected: [read(r.distC2)],
      },
      {
        name: 'assignments UPDATE (rescale)',
        statement: `update assignments set max_score = 20 where id = ${cw.b1}`,
        affected: [read(r.distC2), read(r.analyticsC2)],
        unaffected: [read(r.distC1)],
      },
      {
        name: 'assignments INSERT',
        statement: `insert into assignments (tenant_id, class_id, title, max_score, due_at)
          values (${T}, ${w.c1}, 'Outside', 10, '2024-03-25T00:00:00Z')`,
        affected: [read(r.progressS1)],
        unaffected: [read(r.distC2)],
      },
      {
        name: 'enrollments INSERT',
        statement: `insert into enrollments (tenant_id, class_id, student_id) values (${T}, ${w.c1}, ${w.s3.id})`,
        affected: [read(r.customC1), read(r.customCompletionC1)],
        unaffected: [read(r.distC2)],
      },
      {
        name: 'enrollments DELETE',
        statement: `delete from enrollments where class_id = ${w.c1} and student_id = ${w.s3.id}`,
        affected: [read(r.customC1)],
        unaffected: [read(r.distC2)],
      },
      {
        name: 'users UPDATE (a student renamed)',
        statement: `update users set name = 's1 renamed' where id = ${w.s1.id}`,
        affected: [read(r.customC1)],
        unaffected: [read(r.distC2)],
      },
      {
        name: 'classes UPDATE (renamed)',
        statement: `update classes set name = 'Algebra II' where id = ${w.c1}`,
        affected: [read(r.progressS1), read(r.analyticsAll), read(r.customTenant)],
        unaffected: [read(r.distC2)],
      },
      {
        name: 'materials INSERT',
        statement: `insert into materials (tenant_id, class_id, title) values (${T}, ${w.c1}, 'More notes')`,
        affected: [read(r.customCompletionC1)],
        unaffected: [read(r.distC2), read(r.distC1)],
      },
      {
        name: 'material_progress INSERT',
        statement: `insert into material_progress (tenant_id, material_id, student_id, percent)
          values (${T}, ${cw.m1}, ${w.s1.id}, 60)`,
        affected: [read(r.customCompletionC1), read(r.progressS1)],
        unaffected: [read(r.distC1)],
      },
      {
        name: 'material_progress UPDATE',
        statement: `update material_progress set percent = 90 where material_id = ${cw.m1} and student_id = ${w.s1.id}`,
        affected: [read(r.customCompletionC1), read(r.progressS1)],
        unaffected: [read(r.distC1)],
      },
      {
        name: 'reports UPDATE (params changed in SQL)',
        statement: `update reports set params = '{"student_id": ${w.s2.id}}' where id = ${r.progressS1}`,
        affected: [read(r.progressS1)],
        unaffected: [read(r.distC1)],
      },
      {
        name: 'assignments DELETE',
        statement: `delete from assignments where id = ${cw.a2}`,
        affected: [read(r.distC1), read(r.analyticsAll), read(r.progressS2)],
        unaffected: [read(r.distC2)],
      },
      {
        name: 'material_progress TRUNCATE (every tenant)',
        statement: 'truncate material_progress',
        affected: [read(r.customCompletionC1)],
        unaffected: [],
      },
    ]

    for (const c of cases) {
      await t.test(c.name, async (t) => {
        const before = await warm(t, apps, [...c.affected, ...c.unaffected])
        await run(c.statement)
        for (const [i, app] of apps.entries()) {
          for (const x of c.affected) {
            const expected = await freshData(cw.db, x.caller, x.report)
            await until(
              async () => {
                const got = await getReport(app, x.caller, x.report)
                return got.status === 200 && same(got.data, expected) && got
              },
              `report ${x.report} fresh on instance ${i}`,
              DEADLINE_MS,
            )
          }
          for (const x of c.unaffected) {
            const got = await getReport(app, x.caller, x.report)
            t.equal(got.xCache, 'HIT', `instance ${i}: report ${x.report} did not read it: still HIT`)
            t.ok(
              got.raw.equals(before.get(`${i}:${x.report}:${x.caller.id}`) ?? Buffer.alloc(0)),
              'same bytes',
            )
          }
        }
        t.pass(`${c.affected.length} affected reports fresh on both instances`)
      })
    }

    await t.test('access changed in SQL: guardian added, tutor link removed', async (t) => {
      for (const [i, app] of apps.entries()) {
        t.equal(
          (await getReport(app, w.parent, r.progressS2)).status,
          403,
          `instance ${i}: not the parent's child yet`,
        )
        t.equal(
          (await getReport(app, w.tutor, r.distC1)).status,
          403,
          `instance ${i}: tutors see no class reports`,
        )
      }
      await run(
        `insert into guardians (tenant_id, parent_id, student_id) values (${T}, ${w.parent.id}, ${w.s2.id})`,
      )
      for (const [i, app] of apps.entries()) {
        await until(
          async () => (await getReport(app, w.parent, r.progressS2)).status === 200,
          `parent sees s2 on instance ${i}`,
          DEADLINE_MS,
        )
      }
      await run(`delete from guardians where parent_id = ${w.parent.id} and student_id = ${w.s2.id}`)
      for (const [i, app] of apps.entries()) {
        await until(
          async () => (await getReport(app, w.parent, r.progressS2)).status === 403,
          `parent no longer sees s2 on instance ${i}`,
          DEADLINE_MS,
        )
      }
      const aboutS1 = await createReport(a, admin, 'student_progress', { student_id: w.s1.id })
      for (const [i, app] of apps.entries()) {
        t.equal(
          (await getReport(app, w.tutor, aboutS1)).status,
          200,
          `instance ${i}: the tutor sees its tutee`,
        )
      }
      await run(`delete from tutor_links where tutor_id = ${w.tutor.id} and student_id = ${w.s1.id}`)
      for (const [i, app] of apps.entries()) {
        await until(
          async () => (await getReport(app, w.tutor, aboutS1)).status === 403,
          `tutor no longer sees s1 on instance ${i}`,
          DEADLINE_MS,
        )
      }
    })
  })
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}
