// GET /cache/stats: the tenant's cache size and the store's state.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { cacheStats } from '../../src/reports/cache-ops.js'
import { Nullable } from '../../src/response-schemas.js'
import { adminErrors, NoQuery } from './schemas.js'

const Count = Nullable(Type.Integer())
const Size = Type.Object({ keys: Type.Integer(), bytes: Type.Integer() })

const StatsSchema = Type.Object({
  backend: Type.Enum(['redis', 'memory']),
  status: Type.Enum(['operational', 'degraded'], {
    description:
      '`degraded` while the circuit breaker is not closed, Redis is not ready or invalidations are pending',
  }),
  ttl_map: Type.Record(Type.String(), Type.Integer(), {
    description: 'Effective server TTL (s) by report type, and `default` for any other',
  }),
  keys: Nullable(Type.Integer(), {
    description:
      "Entries stored for the tenant (reports and the small definition/access values); null while the store can't be reached",
  }),
  memory_bytes: Count,
  by_type: Type.Record(Type.String(), Size, {
    description: 'Report entries by report type (report types only)',
  }),
  internal: Type.Object(
    {
      keys: Type.Integer(),
      bytes: Type.Integer(),
      by_kind: Type.Record(Type.String(), Size),
    },
    {
      description:
        'Internal entries, not reports: the definition and access values read with each report (kinds `definition`, `access`)',
    },
  ),
})

const statsRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/stats',
    {
      schema: {
        tags: ['cache'],
        summary: "The tenant's cache size by type, the TTL map and the store's state",
        description:
          'From counters the store keeps on write (expired entries reclaimed with a budget): never KEYS.',
        querystring: NoQuery,
        response: { 200: StatsSchema, ...adminErrors },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      return cacheStats(app.reportCache, app.cachePolicy, request.principal.tenantId)
    },
  )
}

export default statsRoute
