// The two halves of a report read that the cache sits between: access
// (visibilityOf, from a definition and the entities it references) decides the
// key's scope; computeReport computes the data and the exact body bytes, which
// the cache stores. The read itself, in one pipeline for every caller, is
// report-reader.ts.
import type { Db, ReportRow } from '../../db/database.js'
import type { Viewer } from '../access/viewer.js'
import { assignmentClasses } from './entities.js'
import { reportType } from './registry.js'
import type { ReportFilters, ReportTypeDefinition, ResolvedEntities, Visibility } from './types.js'

/** What a definition needs looked up before its visibility can be decided, for many at once (one query). */
export async function resolveEntities(
  db: Db,
  tenantId: number,
  reports: readonly Pick<ReportRow, 'type' | 'params'>[],
): Promise<ResolvedEntities> {
  const ids = reports.flatMap((r) => reportType(r.type).referencedAssignments?.(r.params) ?? [])
  return { assignmentClasses: await assignmentClasses(db, tenantId, ids) }
}

/** The viewer's access to a stored (or proposed) definition: pure, given the entities. */
export function visibilityOf(
  viewer: Viewer,
  report: Pick<ReportRow, 'type' | 'params'>,
  entities: ResolvedEntities,
): Visibility {
  return reportType(report.type).visibility(viewer, report.params, entities)
}

/** Looks up what access needs and decides it, for one definition. */
export async function decideVisibility(
  db: Db,
  viewer: Viewer,
  report: Pick<ReportRow, 'type' | 'params'>,
): Promise<Visibility> {
  return visibilityOf(viewer, report, await resolveEntities(db, viewer.tenantId, [report]))
}

export interface ResolvedReport {
  report: ReportRow
  /** 'shared': the body is the same for every allowed viewer; 'personal': it depends on this viewer. */
  visibility: Exclude<Visibility, 'forbidden'>
  /** Normalised: sorted keys, defaults applied (see filters.ts canonicalFilters for a key). */
  filters: ReportFilters
}

export interface ComputedReport {
  /** The exact response body: JSON `{id, type, title, params, filters, generated_at, data}`. */
  body: string
  /** When the computation started: every change committed before it is in the data. */
  generatedAt: Date
  /** Data tags the computation read (tags.ts); the cache adds tenant and report tags. */
  tags: string[]
}

/** Computes the data and serialises the body, once. */
export async function computeReport(
  db: Db,
  viewer: Viewer,
  resolved: ResolvedReport,
  now: () => Date = () => new Date(),
  // The test suite's reference queries (test/reference/) stand in here: one body construction for both.
  definition: Pick<ReportTypeDefinition, 'compute'> = reportType(resolved.report.type),
): Promise<ComputedReport> {
  const { report, visibility, filters } = resolved
  const generatedAt = now()
  const result = await definition.compute(
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
