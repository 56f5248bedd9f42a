// `invalidate`: one version bump in the shared (Redis) cache, for a tenant or
// one of its reports, exactly as DELETE /cache and DELETE /cache/reports/:id.
import { invalidateReportCache, invalidateTenantCache } from '../reports/cache-ops.js'
import { withCacheApp } from './cache-app.js'
import { type Command, integerOption, parseOptions, UsageError } from './command.js'
import { createProgress } from './progress.js'

const MAX_ID = 2_147_483_647

export const invalidate: Command = {
  usage: [
    'invalidate --tenant T [--report N]',
    '  every cached entry of tenant T, or every cached result of its report N (all filters and viewers)',
    '  Needs REDIS_URL or REDIS_CLUSTER_NODES (and REDIS_PREFIX if the servers use one).',
  ].join('\n'),

  async run(args, io) {
    const values = parseOptions(args, { tenant: { type: 'string' }, report: { type: 'string' } })
    const tenantId = integerOption(values, 'tenant', 1, MAX_ID)
    if (tenantId === undefined) throw new UsageError('--tenant is required')
    const reportId = integerOption(values, 'report', 1, MAX_ID)

    const line = await withCacheApp(io, 'read', async (app) => {
      const progress = createProgress(io.stderr)
      const label = reportId === undefined ? `invalidate tenant ${tenantId}` : `invalidate report ${reportId}`
      const known = await app.db
        .selectFrom('tenants')
        .select('id')
        .where('id', '=', tenantId)
        .executeTakeFirst()
      if (!known) throw new Error(`no tenant ${tenantId}: nothing was invalidated`)
      progress(0, 1, label)
      let text: string
      if (reportId === undefined) {
        const summary = await invalidateTenantCache(app.reportCache, tenantId)
        // A bump this process could not deliver would die with it: say so.
        if (!summary.delivered) throw new Error('Redis could not be reached: nothing was invalidated')
        text = `Cache invalidated: tenant ${tenantId}, ${summary.invalidatedKeys} keys`
      } else {
        const summary = await invalidateReportCache(
          app.db,
          app.reportCache,
          tenantId,
          reportId,
          async (tags) => {
            const outcome = await app.reportCache.invalidate(tenantId, tags)
            if (!outcome.delivered) throw new Error('Redis could not be reached: nothing was invalidated')
          },
        )
        text = `Report cache invalidated: report ${reportId}, ${summary.invalidatedKeys} keys`
      }
      progress(1, 1, label)
      return text
    })
    io.stdout.write(`${line}\n`)
  },
}
