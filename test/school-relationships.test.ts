// Guardian and tutor links: admin-managed, and a removed link ends access on
// the very next request even when the report is warm in the cache.
import t from 'tap'
import { bearer, buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'
import { buildWorld } from './helpers/world.js'

for (const store of ['memory', 'redis'] as const) {
  t.test(`guardian and tutor links (${store} store)`, async (t) => {
    const db = await createTestDatabase(t)
    const w = await buildWorld(db.db)
    const redisUrl = store === 'redis' ? (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined
    const app = await buildTestApp(t, db, { redisUrl })
    const admin = bearer(w.admin)

    const created = await app.inject({
      method: 'POST',
      url: '/reports',
      headers: admin,
      payload: { type: 'student_progress', title: 's1', params: { student_id: w.s1.id } },
    })
    const reportUrl = `/reports/${created.json().id}`

    t.test('a parent loses a warm report on the next request after its link is deleted', async (t) => {
      const first = await app.inject({ url: reportUrl, headers: bearer(w.parent) })
      t.equal(first.statusCode, 200)
      const warm = await app.inject({ url: reportUrl, headers: bearer(w.parent) })
      t.equal(warm.headers['x-cache'], 'HIT')

      const removed = await app.inject({
        method: 'DELETE',
        url: `/guardians/${w.parent.id}/${w.s1.id}`,
        headers: admin,
      })
      t.equal(removed.statusCode, 204)
      const after = await app.inject({ url: reportUrl, headers: bearer(w.parent) })
      t.equal(after.statusCode, 403)
      // The admin's view of the same entry is untouched.
      const adminView = await app.inject({ url: reportUrl, headers: admin })
      t.equal(adminView.statusCode, 200)

      const restored = await app.inject({
        method: 'POST',
        url: '/guardians',
        headers: admin,
        payload: { parent_id: w.parent.id, student_id: w.s1.id },
      })
      t.equal(restored.statusCode, 201)
      t.equal(restored.headers.location, `/guardians/${w.parent.id}/${w.s1.id}`)
      const back = await app.inject({ url: reportUrl, headers: bearer(w.parent) })
      t.equal(back.statusCode, 200)
    })

    t.test('a tutor gains and loses a student', async (t) => {
      const s2report = await app.inject({
        method: 'POST',
        url: '/reports',
        headers: admin,
        payload: { type: 'student_progress', title: 's2', params: { student_id: w.s2.id } },
      })
      const url = `/reports/${s2report.json().id}`
      t.equal((await app.inject({ url, headers: bearer(w.tutor) })).statusCode, 403)
      const linked = await app.inject({
        method: 'POST',
        url: '/tutor-links',
        headers: admin,
        payload: { tutor_id: w.tutor.id, student_id: w.s2.id },
      })
      t.equal(linked.statusCode, 201)
      t.equal((await app.inject({ url, headers: bearer(w.tutor) })).statusCode, 200)
      const unlinked = await app.inject({
        method: 'DELETE',
        url: `/tutor-links/${w.tutor.id}/${w.s2.id}`,
        headers: admin,
      })
      t.equal(unlinked.statusCode, 204)
      t.equal((await app.inject({ url, headers: bearer(w.tutor) })).statusCode, 403)
    })

    t.test('only admins manage links; bad input is a 400 naming the field', async (t) => {
      const asTeacher = await app.inject({
        method: 'POST',
        url: '/guardians',
        headers: bearer(w.teacherA),
        payload: { parent_id: w.parent.id, student_id: w.s2.id },
      })
      t.equal(asTeacher.statusCode, 403)
      const wrongRole = await app.inject({
        method: 'POST',
        url: '/guardians',
        headers: admin,
        payload: { parent_id: w.tutor.id, student_id: w.s2.id },
      })
      t.equal(wrongRole.statusCode, 400)
      t.match(wrongRole.json().message, /body\.parent_id is not a parent/)
      const unknown = await app.inject({
        method: 'POST',
        url: '/tutor-links',
        headers: admin,
        payload: { tutor_id: w.tutor.id, student_id: w.s2.id, note: 'x' },
      })
      t.equal(unknown.statusCode, 400)
      t.match(unknown.json().message, /body\.note/)
      const otherTenant = await app.inject({
        method: 'POST',
        url: '/guardians',
        headers: admin,
        payload: { parent_id: w.parent.id, student_id: w.x1.id },
      })
      t.equal(otherTenant.statusCode, 400)
      t.match(otherTenant.json().message, /body\.student_id does not exist/)
      const duplicate = await app.inject({
        method: 'POST',
        url: '/guardians',
        headers: admin,
        payload: { parent_id: w.parent.id, student_id: w.s1.id },
      })
      t.equal(duplicate.statusCode, 409)
      const missing = await app.inject({
        method: 'DELETE',
        url: `/guardians/${w.parent.id}/${w.s3.id}`,
        headers: admin,
      })
      t.equal(missing.statusCode, 404)
      const links = await db.db.selectFrom('guardians').selectAll().execute()
      t.equal(links.length, 1, 'rejected requests changed nothing')
    })
  })
}
