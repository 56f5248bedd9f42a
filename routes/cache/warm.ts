// POST /cache/warm: compute and store reports of the caller's tenant now.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { InvalidBody } from '../../src/errors.js'
import { MAX_WARM_REPORTS, reportIdsOfType, warmReports } from '../../src/reports/cache-ops.js'
import { REPORT_TYPE_NAMES } from '../../src/reports/registry.js'
import { adminErrors, NoQuery, ReportId } from './schemas.js'

const WarmBody = Type.Object(
  {
    report_ids: Type.Optional(
      Type.Array(ReportId, { minItems: 1, maxItems: 1000, description: 'Reports to warm' }),
    ),
    report_type: Type.Optional(
      Type.Enum([...REPORT_TYPE_NAMES], { description: 'Warm every report of this type in the tenant' }),
    ),
    filters: Type.Optional(
      Type.Object(
        {
          from: Type.Optional(Type.String({ format: 'date', description: 'YYYY-MM-DD, years 1970–9999' })),
          to: Type.Optional(Type.String({ format: 'date', description: 'YYYY-MM-DD, years 1970–9999' })),
          class_id: Type.Optional(ReportId),
          granularity: Type.Optional(Type.Enum(['week', 'month'])),
        },
        {
          additionalProperties: false,
          description:
            'The query of the GETs to serve (as GET /reports/:id filters); none: the unfiltered result',
        },
      ),
    ),
  },
  { additionalProperties: false },
)

const WarmResult = Type.Object({
  total: Type.Integer(),
  cached: Type.Integer({ description: 'Now in the cache (computed now, or already there)' }),
  failed: Type.Integer(),
  errors: Type.Array(Type.Object({ report_id: ReportId, message: Type.String() })),
})

const warmRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/warm',
    {
      schema: {
        tags: ['cache'],
        summary: 'Compute and store reports now, as the calling admin would GET them',
        description:
          'Give exactly one of `report_ids` or `report_type`. Each report is read through the same path as ' +
          "GET /reports/:id with the caller's access (4 at a time), so the next GET with the same filters is a " +
          'HIT. Reports that do not exist in the tenant, that the caller may not see, or that could not be ' +
          'stored count as failed, with a message.',
        querystring: NoQuery,
        body: WarmBody,
        response: { 200: WarmResult, ...adminErrors },
      },
    },
    async (request, reply) => {
      const { report_ids: reportIds, report_type: reportType, filters } = request.body
      if ((reportIds === undefined) === (reportType === undefined)) {
        throw new InvalidBody('body must include exactly one of report_ids or report_type')
      }
      const { tenantId } = request.principal
      const ids = reportIds ?? (await reportIdsOfType(app.db, tenantId, reportType!))
      const query = Object.fromEntries(Object.entries(filters ?? {}).map(([k, v]) => [k, String(v)]))
      const summary = await warmReports(app.reportReader, request.principal, ids.slice(0, MAX_WARM_REPORTS), {
        filters: query,
        onUnexpected: (err, reportId) => request.log.error({ err, reportId }, 'cache.warm.failure'),
      })
      reply.header('cache-control', 'no-store')
      return summary
    },
  )
}

export default warmRoute
