import t from 'tap'
import { buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'

t.test('health answers with the database up', async (t) => {
  const db = await createTestDatabase(t)
  const app = await buildTestApp(t, db)
  const res = await app.inject({ method: 'GET', url: '/health' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { status: 'ok', postgres: 'up', redis: 'disabled' })
})
