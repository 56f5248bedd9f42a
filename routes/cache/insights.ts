// GET /cache/insights: per report type hit rate and computation time, the
// reports that cost the most computation time, the hottest keys (no bodies)
// and the recent invalidations of the caller's tenant, counted by this
// instance since it started (the dashboard's tables).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { Nullable } from '../../src/response-schemas.js'
import { adminErrors, NoQuery } from './schemas.js'

const Ms = Nullable(Type.Number())
const InsightsSchema = Type.Object({
  by_type: Type.Record(
    Type.String(),
    Type.Object({
      requests: Type.Integer(),
      hit_rate: Type.Number({ description: 'Percentage 0–100 answered without computing' }),
      computations: Type.Integer(),
      p50_ms: Ms,
      p95_ms: Ms,
    }),
    { description: 'Report GETs by report type' },
  ),
  top_reports: Type.Array(
    Type.Object({
      report_id: Type.Integer(),
      type: Type.String(),
      computations: Type.Integer(),
      compute_ms: Type.Number(),
      requests: Type.Integer(),
      hit_rate: Type.Number(),
    }),
    { description: 'The 10 reports with the most computation time, each with its own hit rate' },
  ),
  hottest_keys: Type.Array(
    Type.Object({
      key: Type.String(),
      type: Type.String(),
      requests: Type.Integer(),
      hit_rate: Type.Number(),
    }),
    { description: 'The 10 most requested cache keys (names only, never bodies)' },
  ),
  largest_keys: Type.Array(
    Type.Object({
      key: Type.String(),
      type: Type.String(),
      bytes: Type.Integer({ description: 'Body bytes of the entry when last served' }),
      requests: Type.Integer(),
    }),
    {
      description:
        'The 10 keys with the largest bodies served by this instance (names and sizes, never bodies)',
    },
  ),
  invalidations: Type.Array(
    Type.Object({
      at: Type.String({ format: 'date-time' }),
      reason: Type.String(),
      tags: Type.Array(Type.String()),
      delivered: Type.Boolean(),
    }),
    { description: 'The 50 most recent invalidations, newest first' },
  ),
})

const insightsRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/insights',
    {
      schema: {
        tags: ['cache'],
        summary:
          "What the tenant's cache costs and saves, by type and by report, and its recent invalidations",
        description:
          'Counted by this instance since it started (bounded), unlike /cache/hit-rate which sums every instance.',
        querystring: NoQuery,
        response: { 200: InsightsSchema, ...adminErrors },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      return app.cacheInsights.summary(request.principal.tenantId)
    },
  )
}

export default insightsRoute
