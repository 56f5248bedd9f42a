// `invalidate`: one record in the invalidation log for a tenant or one of its
// reports, delivered to the shared (Redis) cache, exactly as DELETE /cache and
// DELETE /cache/reports/:id.
import { TENANT_WIDE_TAG } from '../cache/keys.js'
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

    const line = await withCacheApp(io, 'read', async (app, config) => {
      const progress = createProgress(io.stderr)
      const label = reportId === undefined ? `invalidate tenant ${tenantId}` : `invalidate report ${reportId}`
      const known = await app.db
        .selectFrom('tenants')
        .select('id')
        .where('id', '=', tenantId)
        .executeTakeFirst()
      if (!known) throw new Error(`no tenant ${tenantId}: nothing was invalidated`)
      progress(0, 1, label)
      // The log is shared only on a Postgres server. An embedded database is
      // this process's snapshot copy, whose records would reach nobody (and whose
      // sequence numbers the servers already used): bump Redis directly there.
      const record = config.databaseUrl
        ? (tags: readonly string[]) => app.invalidation.record('cli', tenantId, tags)
        : async (tags: readonly string[]) => {
            const { delivered } = tags.includes(TENANT_WIDE_TAG)
              ? await app.reportCache.invalidateTenant(tenantId)
              : await app.reportCache.invalidate(tenantId, tags)
            if (!delivered) throw new Error('Redis could not be reached: nothing was invalidated')
            return { pending: false }
          }
      const summary =
        reportId === undefined
          ? await invalidateTenantCache(app.reportCache, tenantId, record)
          : await invalidateReportCache(app.db, app.reportCache, tenantId, reportId, record)
      progress(1, 1, label)
      const what =
        reportId === undefined
          ? `Cache invalidated: tenant ${tenantId}`
          : `Report cache invalidated: report ${reportId}`
      // Committed to the log either way; past the wait bound a server's relay delivers it.
      const pending = summary.pending ? ' (delivery pending: recorded in the invalidation log)' : ''
      return `${what}, ${summary.invalidatedKeys} keys${pending}`
    })
    io.stdout.write(`${line}\n`)
  },
}
