// DELETE /cache and DELETE /cache/reports/:id: invalidate the tenant's cache, or
// one report's, with one version bump (O(1), on every instance).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { publishInvalidation } from '../../src/invalidation-events.js'
import { invalidateReportCache, invalidateTenantCache } from '../../src/reports/cache-ops.js'
import { adminErrors, NoQuery, ReportId, ReportIdParam } from './schemas.js'

const KEYS_DESCRIPTION =
  'Entries stored just before the bump: an estimate (entries already invalid, or evicted but not yet ' +
  'reclaimed, still count); 0 when the store could not be reached (the bump is then kept and delivered ' +
  'before anything of the tenant is served from the cache again)'

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
      const summary = await invalidateTenantCache(app.reportCache, tenantId)
      publishInvalidation({
        source: app.invalidation,
        tenantId,
        tags: ['*'],
        reason: 'admin.tenant',
        delivered: summary.delivered,
      })
      request.log.info({ tenantId, delivered: summary.delivered }, 'cache.invalidate.tenant')
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
      const summary = await invalidateReportCache(
        app.db,
        app.reportCache,
        tenantId,
        reportId,
        async (tags) => {
          const { delivered } = await app.reportCache.invalidate(tenantId, tags)
          publishInvalidation({ source: app.invalidation, tenantId, tags, reason: 'admin.report', delivered })
        },
      )
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
