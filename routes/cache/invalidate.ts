// DELETE /cache and DELETE /cache/reports/:id: invalidate the tenant's cache, or
// one report's, with one record in the invalidation log (O(1)): delivered before
// the reply like a change's, applied by every instance, lost by none.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { invalidateReportCache, invalidateTenantCache } from '../../src/reports/cache-ops.js'
import { PENDING_HEADER } from '../mutate.js'
import { adminErrors, NoQuery, ReportId, ReportIdParam } from './schemas.js'

const KEYS_DESCRIPTION =
  'Entries stored just before the invalidation: an estimate (entries already invalid, or evicted but not ' +
  'yet reclaimed, still count); 0 when the store could not be reached'

const invalidateRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // '' rather than '/': the route is exactly /cache (API.md), not /cache/.
  app.delete(
    '',
    {
      schema: {
        tags: ['cache'],
        summary: "Invalidate every cached entry of the caller's tenant",
        querystring: NoQuery,
        response: {
          200: Type.Object({
            message: Type.Literal('Cache invalidated'),
            invalidated_keys: Type.Integer({ description: KEYS_DESCRIPTION }),
          }),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      const { tenantId } = request.principal
      const summary = await invalidateTenantCache(app.reportCache, tenantId, (tags) =>
        app.invalidation.record('admin.tenant', tenantId, tags),
      )
      request.log.info({ tenantId, pending: summary.pending }, 'cache.invalidate.tenant')
      if (summary.pending) reply.header(PENDING_HEADER, 'pending')
      reply.header('cache-control', 'no-store')
      return { message: 'Cache invalidated' as const, invalidated_keys: summary.invalidatedKeys }
    },
  )

  app.delete(
    '/reports/:id',
    {
      schema: {
        tags: ['cache'],
        summary: 'Invalidate every cached result of one report (all filters and viewers)',
        params: Type.Object({ id: ReportIdParam }, { additionalProperties: false }),
        querystring: NoQuery,
        response: {
          200: Type.Object({
            message: Type.Literal('Report cache invalidated'),
            report_id: ReportId,
            invalidated_keys: Type.Integer({ description: KEYS_DESCRIPTION }),
          }),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      const { tenantId } = request.principal
      const reportId = request.params.id
      const summary = await invalidateReportCache(app.db, app.reportCache, tenantId, reportId, (tags) =>
        app.invalidation.record('admin.report', tenantId, tags),
      )
      if (summary.pending) reply.header(PENDING_HEADER, 'pending')
      reply.header('cache-control', 'no-store')
      return {
        message: 'Report cache invalidated' as const,
        report_id: reportId,
        invalidated_keys: summary.invalidatedKeys,
      }
    },
  )
}

export default invalidateRoutes
