// Today's direct queries (before the summary tables), kept as the reference
// the summary-based report types must equal byte for byte. analytics and
// custom were rewritten on the summaries; grade_distribution and
// student_progress still read their (in-scope) raw rows, so they are their
// own reference.
import type { Db } from '../../db/database.js'
import type { Viewer } from '../../src/access/viewer.js'
import { reportType } from '../../src/reports/registry.js'
import { type ComputedReport, computeReport, type ResolvedReport } from '../../src/reports/run-report.js'
import type { ReportTypeDefinition } from '../../src/reports/types.js'
import { referenceAnalytics } from './analytics.js'
import { referenceCustom } from './custom.js'

function referenceType(type: ResolvedReport['report']['type']): Pick<ReportTypeDefinition, 'compute'> {
  if (type === 'analytics') return referenceAnalytics as unknown as Pick<ReportTypeDefinition, 'compute'>
  if (type === 'custom') return referenceCustom as unknown as Pick<ReportTypeDefinition, 'compute'>
  return reportType(type)
}

/** computeReport (src/reports/run-report.ts) over the reference queries. */
export function referenceReport(
  db: Db,
  viewer: Viewer,
  resolved: ResolvedReport,
  now: () => Date,
): Promise<ComputedReport> {
  return computeReport(db, viewer, resolved, now, referenceType(resolved.report.type))
}
