// Cache operations (API.md "Cache operations"), registered with prefix /cache:
// admin-only and scoped to the caller's tenant (401 without a token, 403 for
// other roles), except the dashboard page and its assets, which hold no data.
import type { FastifyInstance } from 'fastify'
import { Forbidden } from '../../src/errors.js'
import dashboardRoutes from './dashboard.js'
import hitRateRoute from './hit-rate.js'
import insightsRoute from './insights.js'
import invalidateRoutes from './invalidate.js'
import statsRoute from './stats.js'
import warmRoute from './warm.js'

async function adminRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', app.authenticate)
  app.addHook('onRequest', async (request) => {
    if (request.principal.role !== 'admin') throw new Forbidden('Cache operations are for admins only')
  })
  await app.register(hitRateRoute)
  await app.register(statsRoute)
  await app.register(insightsRoute)
  await app.register(warmRoute)
  await app.register(invalidateRoutes)
}

export default async function cacheRoutes(app: FastifyInstance): Promise<void> {
  await app.register(adminRoutes)
  await app.register(dashboardRoutes)
}
