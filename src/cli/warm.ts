// `warm`: computes and stores reports in the shared (Redis) cache through the
// same reader as GET /reports/:id and POST /cache/warm, as each tenant's admin.
import type { App } from '../app.js'
import { reportIdsOfType, type WarmError, warmReports } from '../reports/cache-ops.js'
import { REPORT_TYPE_NAMES } from '../reports/registry.js'
import type { ReportTypeName } from '../reports/types.js'
import { tenantAdmin, withCacheApp } from './cache-app.js'
import { type Command, integerOption, parseOptions, stringOption, UsageError } from './command.js'
import { createProgress } from './progress.js'

const MAX_ID = 2_147_483_647

/** Report ids by tenant: named ones (looked up) or every report of a type. */
async function targets(
  app: App,
  type: ReportTypeName | undefined,
  ids: number[],
  tenant: number | undefined,
): Promise<{ byTenant: Map<number, number[]>; missing: number[] }> {
  const byTenant = new Map<number, number[]>()
  const add = (tenantId: number, id: number) =>
    byTenant.set(tenantId, [...(byTenant.get(tenantId) ?? []), id])
  if (type !== undefined) {
    const tenants =
      tenant !== undefined
        ? [tenant]
        : (await app.db.selectFrom('tenants').select('id').orderBy('id').execute()).map((r) => r.id)
    for (const tenantId of tenants)
      for (const id of await reportIdsOfType(app.db, tenantId, type)) add(tenantId, id)
    return { byTenant, missing: [] }
  }
  const rows = await app.db
    .selectFrom('reports')
    .select(['id', 'tenant_id'])
    .where('id', 'in', ids)
    .$if(tenant !== undefined, (q) => q.where('tenant_id', '=', tenant as number))
    .orderBy('id')
    .execute()
  for (const row of rows) add(row.tenant_id, row.id)
  const found = new Set(rows.map((r) => r.id))
  return { byTenant, missing: ids.filter((id) => !found.has(id)) }
}

export const warm: Command = {
  usage: [
    'warm (--type TYPE | --report N [--report M ...]) [--tenant T] [--from D] [--to D] [--class N] [--granularity week|month] [--json]',
    `  --type         every report of this type (${REPORT_TYPE_NAMES.join(', ')}), in every tenant or in --tenant`,
    '  --report       a report id (repeatable)',
    '  --from/--to/--class/--granularity  the filters of the GETs to serve (default: none)',
    '  --json         print {total, cached, failed, errors} as POST /cache/warm does',
    '  Needs REDIS_URL or REDIS_CLUSTER_NODES (and REDIS_PREFIX if the servers use one). Exit 1 if any report failed.',
    '  On the embedded database the server must be stopped: a copy of its folder could be older than',
    '  the invalidations already in Redis, and results computed from it would be stored as current.',
  ].join('\n'),

  async run(args, io) {
    const values = parseOptions(args, {
      type: { type: 'string' },
      report: { type: 'string', multiple: true },
      tenant: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      class: { type: 'string' },
      granularity: { type: 'string' },
      json: { type: 'boolean', default: false },
    })
    const type = stringOption(values, 'type') as ReportTypeName | undefined
    const reports = ((values.report as unknown as string[] | undefined) ?? []).map((raw) => {
      if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_ID) {
        throw new UsageError(`--report must be a report id, got ${JSON.stringify(raw)}`)
      }
      return Number(raw)
    })
    if ((type === undefined) === (reports.length === 0))
      throw new UsageError('give --type or --report, not both')
    if (type !== undefined && !REPORT_TYPE_NAMES.includes(type)) {
      throw new UsageError(`--type must be one of ${REPORT_TYPE_NAMES.join(', ')}`)
    }
    const tenant = integerOption(values, 'tenant', 1, MAX_ID)
    const filters: Record<string, string> = {}
    for (const [option, filter] of [
      ['from', 'from'],
      ['to', 'to'],
      ['class', 'class_id'],
      ['granularity', 'granularity'],
    ] as const) {
      const value = stringOption(values, option)
      if (value !== undefined) filters[filter] = value
    }

    const summary = await withCacheApp(io, 'write', async (app) => {
      const { byTenant, missing } = await targets(app, type, reports, tenant)
      const errors: WarmError[] = missing.map((id) => ({ report_id: id, message: `Report ${id} not found` }))
      let cached = 0
      const progress = createProgress(io.stderr)
      for (const [tenantId, ids] of byTenant) {
        const adminId = await tenantAdmin(app, tenantId)
        if (adminId === undefined) {
          for (const id of ids)
            errors.push({ report_id: id, message: `tenant ${tenantId} has no admin to warm as` })
          continue
        }
        const label = `warm tenant ${tenantId}`
        progress(0, ids.length, label)
        const result = await warmReports(app.reportReader, { id: adminId, tenantId, role: 'admin' }, ids, {
          filters,
          onProgress: (done, total) => progress(done, total, label),
          onUnexpected: (err, reportId) => app.log.error({ err, reportId }, 'cache.warm.failure'),
        })
        cached += result.cached
        errors.push(...result.errors)
      }
      errors.sort((a, b) => a.report_id - b.report_id)
      return { total: cached + errors.length, cached, failed: errors.length, errors }
    })

    if (values.json === true) {
      io.stdout.write(`${JSON.stringify(summary)}\n`)
    } else {
      io.stdout.write(`warmed ${summary.cached} of ${summary.total} reports\n`)
      for (const e of summary.errors) io.stdout.write(`  report ${e.report_id}: ${e.message}\n`)
    }
    if (summary.failed > 0)
      throw new Error(`${summary.failed} of ${summary.total} reports could not be warmed`)
  },
}
