// Identity from the database (docs/identity.md): the token names a user, the
// user's record decides. A role or tenant claim that disagrees with the record,
// or a user that does not exist, is a 401 on every route; a role change or a
// deletion takes effect on the next request while the report is warm; and a
// warm HIT still runs no database query, for every role.
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import type { Role } from '../db/database.js'
import type { App } from '../src/app.js'
import { bearer } from './helpers/app.js'
import {
  type Caller,
  cacheApp,
  cacheWorld,
  createReports,
  getReport,
  STORES,
  storeOverrides,
} from './helpers/report-cache.js'

/** Non-report routes that every role may call (each must check identity too). */
const OPEN_ROUTES = ['/me', '/classes', '/reports']

function assert401(t: Test, res: { statusCode: number; headers: Record<string, unknown> }, what: string) {
  t.equal(res.statusCode, 401, `${what}: 401`)
  t.equal(res.headers['www-authenticate'], 'Bearer', `${what}: WWW-Authenticate: Bearer`)
  t.equal(res.headers['cache-control'], 'no-store', `${what}: no-store`)
}

async function get(app: App, caller: Caller, url: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url, headers: bearer(caller) })
}

for (const store of STORES) {
  t.test(`${store} store: identity from the user record`, async (t) => {
    const cw = await cacheWorld(t)
    const { app, instrumented } = await cacheApp(t, cw, storeOverrides(t, store))
    const { counter } = instrumented
    const reports = await createReports(app, cw)
    const { w } = cw
    const T = w.tenant1

    // One report each role may see, warmed by that role.
    const cases: { role: Role; user: Caller; report: number }[] = [
      { role: 'admin', user: w.admin, report: reports.customTenant },
      { role: 'teacher', user: w.teacherA, report: reports.distC1 },
      { role: 'tutor', user: w.tutor, report: reports.progressS1 },
      { role: 'parent', user: w.parent, report: reports.progressS1 },
      { role: 'student', user: w.s1, report: reports.progressS1 },
    ]

    for (const c of cases) {
      await t.test(`${c.role}: warm HIT with no query; forged claims are 401`, async (t) => {
        const first = await getReport(app, c.user, c.report)
        t.equal(first.status, 200, 'the true token reads its report')
        await getReport(app, c.user, c.report)
        counter.reset()
        const warm = await getReport(app, c.user, c.report)
        t.equal(warm.xCache, 'HIT', 'warm')
        t.equal(counter.total, 0, 'identity adds no query to a warm HIT')

        for (const url of OPEN_ROUTES)
          t.equal((await get(app, c.user, url)).statusCode, 200, `GET ${url}: 200`)

        // Another role in the claims: the report (its access set is warm) and every other route.
        const otherRole: Role = c.role === 'admin' ? 'student' : 'admin'
        const forgedRole = { ...c.user, role: otherRole }
        assert401(
          t,
          (await getReport(app, forgedRole, c.report)).res,
          `role ${otherRole} claimed, warm report`,
        )
        for (const url of [...OPEN_ROUTES, '/users', '/cache/stats', `/users/${c.user.id}`]) {
          assert401(t, await get(app, forgedRole, url), `role ${otherRole} claimed, GET ${url}`)
        }
        const mutation = await app.inject({
          method: 'POST',
          url: '/enrollments',
          headers: bearer(forgedRole),
          payload: { class_id: w.c2, student_id: w.s1.id },
        })
        assert401(t, mutation, `role ${otherRole} claimed, POST /enrollments`)

        // The other tenant in the claims.
        const forgedTenant = { ...c.user, tenant_id: w.tenant2 }
        assert401(t, (await getReport(app, forgedTenant, c.report)).res, 'tenant 2 claimed, report')
        assert401(t, await get(app, forgedTenant, '/me'), 'tenant 2 claimed, GET /me')
        assert401(t, await get(app, forgedTenant, '/cache/stats'), 'tenant 2 claimed, GET /cache/stats')

        // The true token still works, still warm.
        t.equal((await getReport(app, c.user, c.report)).xCache, 'HIT', 'the true token is unaffected')
      })
    }

    await t.test('a user that does not exist is 401 everywhere', async (t) => {
      const ghost: Caller = { id: 999_999, tenant_id: T, role: 'admin' }
      assert401(t, (await getReport(app, ghost, reports.customTenant)).res, 'report')
      for (const url of [...OPEN_ROUTES, '/users', '/cache/stats'])
        assert401(t, await get(app, ghost, url), url)
    })

    await t.test('a role change takes effect on the next request, the report warm', async (t) => {
      const teacher = w.teacherB
      await getReport(app, teacher, reports.distC2)
      t.equal((await getReport(app, teacher, reports.distC2)).xCache, 'HIT', 'warm as a teacher')
      await cw.db.db.updateTable('users').set({ role: 'student' }).where('id', '=', teacher.id).execute()
      await app.invalidation.relay.drain() // the users trigger logged user:ID; deliver it now
      assert401(t, (await getReport(app, teacher, reports.distC2)).res, 'the teacher token, next request')
      assert401(t, await get(app, teacher, '/classes'), 'the teacher token on /classes')
      const asStudent = { ...teacher, role: 'student' as const }
      t.equal(
        (await getReport(app, asStudent, reports.distC2)).status,
        403,
        'as a student: 403, not the report',
      )
      t.equal((await get(app, asStudent, '/me')).json().role, 'student', '/me shows the new role')

      // An admin demoted loses the admin routes at once.
      const admin = w.admin
      t.equal((await get(app, admin, '/cache/stats')).statusCode, 200)
      t.equal((await getReport(app, admin, reports.customTenant)).xCache, 'HIT', 'admin warm')
      await cw.db.db.updateTable('users').set({ role: 'parent' }).where('id', '=', admin.id).execute()
      await app.invalidation.relay.drain() // the users trigger logged user:ID; deliver it now
      assert401(t, (await getReport(app, admin, reports.customTenant)).res, 'demoted admin, warm report')
      assert401(t, await get(app, admin, '/cache/stats'), 'demoted admin, /cache/stats')
      assert401(t, await get(app, admin, '/users'), 'demoted admin, /users')
      await cw.db.db.updateTable('users').set({ role: 'admin' }).where('id', '=', admin.id).execute()
      await app.invalidation.relay.drain() // the users trigger logged user:ID; deliver it now
      t.equal(
        (await getReport(app, admin, reports.customTenant)).status,
        200,
        'restored: the token works again',
      )
    })

    await t.test('a deleted user is 401 on the next request, the report warm', async (t) => {
      const tutor = w.tutor
      await getReport(app, tutor, reports.progressS1)
      t.equal((await getReport(app, tutor, reports.progressS1)).xCache, 'HIT', 'warm')
      await cw.db.db.deleteFrom('users').where('id', '=', tutor.id).execute()
      await app.invalidation.relay.drain() // the users trigger logged user:ID; deliver it now
      assert401(t, (await getReport(app, tutor, reports.progressS1)).res, 'warm report after deletion')
      assert401(t, await get(app, tutor, '/me'), '/me after deletion')
      t.equal((await getReport(app, w.s1, reports.progressS1)).status, 200, 'other users unaffected')
    })
  })
}
