// Today's direct queries (before the summary tables), kept as the reference
// the summary-based report types must equal byte for byte. analytics and
// custom were rewritten on the summaries; grade_distribution and
// student_progress still read their (in-scope) raw rows, so they are their
// own reference.
import type { Db } from '../../db/database.js'
import type { Viewer } from '../../src/access/viewer.js'
import { reportType } from '../../src/reports/registry.js'
import type { ComputedReport, ResolvedReport } from '../../src/reports/run-report.js'
import { referenceAnalytics } from './analytics.js'
import { referenceCustom } from './custom.js'

function referenceType(type: ResolvedReport['report']['type']) {
  if (type === 'analytics') return referenceAnalytics as unknown as ReturnType<typeof reportType>
  if (type === 'custom') return referenceCustom as unknown as ReturnType<typeof reportType>
  return reportType(type)
}

/** computeReport (src/reports/run-report.ts) over the reference queries: the same body construction. */
export async function referenceReport(
  db: Db,
  viewer: Viewer,
  resolved: ResolvedReport,
  now: () => Date,
): Promise<ComputedReport> {
  const { report, visibility, filters } = resolved
  const generatedAt = now()
  const result = await referenceType(report.type).compute(
    { db, tenantId: report.tenant_id, viewer, filters, visibility },
    report.params,
  )
  const body = JSON.stringify({
    id: report.id,
    type: report.type,
    title: report.title,
    params: report.params,
    filters,
    generated_at: generatedAt.toISOString(),
    data: result.data,
  })
  return { body, generatedAt, tags: result.tags }
}
