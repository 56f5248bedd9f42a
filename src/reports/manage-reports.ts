// Report definitions CRUD with the access rules: a caller lists and creates
// only definitions it may see; it may change or delete a definition if it is
// an admin, or its creator while it still may see it. Another tenant's
// definition is "not found" (404), a refusal inside the tenant is 403.
import type { Kysely } from 'kysely'
import type { Database, Db, ReportRow } from '../../db/database.js'
import type { Viewer } from '../access/viewer.js'
import { Forbidden, InvalidFilter, ReportNotFound } from '../errors.js'
import {
  createReport,
  decodeCursor,
  deleteReport,
  encodeCursor,
  getReport,
  listReports,
  type ReportChanges,
  updateReport,
} from './definitions.js'
import { validateReportParams } from './registry.js'
import { decideVisibility, resolveEntities, visibilityOf } from './run-report.js'
import type { ReportTypeName } from './types.js'

export interface CreateInput {
  type: ReportTypeName
  title: string
  params: unknown
}

/** Validates (400), checks the caller could see the report (403), stores it (in the caller's transaction). */
export async function createReportFor(trx: Db, viewer: Viewer, input: CreateInput): Promise<ReportRow> {
  const params = await validateReportParams(trx, viewer.tenantId, input.type, input.params)
  if ((await decideVisibility(trx, viewer, { type: input.type, params })) === 'forbidden') {
    throw new Forbidden('You may not create a report you could not see')
  }
  return createReport(trx, {
    tenantId: viewer.tenantId,
    type: input.type,
    title: input.title,
    params,
    createdBy: viewer.id,
  })
}

/** Admin, or the creator while it may still see the report. */
async function assertMayChange(db: Db, viewer: Viewer, report: ReportRow): Promise<void> {
  if (viewer.all) return
  if (report.created_by === viewer.id && (await decideVisibility(db, viewer, report)) !== 'forbidden') return
  throw new Forbidden(`You may not change report ${report.id}`)
}

export interface ChangeOptions {
  /**
   * Runs on the locked row after the existence and permission checks (a 404 or
   * 403 wins over a failed precondition, RFC 9110 §13.2.1); throw to change nothing.
   */
  precondition?: (current: ReportRow) => void
}

/** The definition if the caller may see it (404 other tenant or missing, 403 not visible). */
export async function readReportFor(db: Db, viewer: Viewer, id: number): Promise<ReportRow> {
  const report = await getReport(db, viewer.tenantId, id)
  if (!report) throw new ReportNotFound(String(id))
  const entities = await resolveEntities(db, viewer.tenantId, [report])
  if (visibilityOf(viewer, report, entities) === 'forbidden') {
    throw new Forbidden(`You may not see report ${report.id}`)
  }
  return report
}

/** Changes title and/or params (params validated, and still visible to the caller); bumps the revision. */
export async function updateReportFor(
  trx: Db,
  viewer: Viewer,
  id: number,
  changes: { title?: string; params?: unknown },
  options: ChangeOptions = {},
): Promise<ReportRow> {
  // Locked, so two concurrent PATCHes apply one after the other.
  const report = await getReport(trx, viewer.tenantId, id, { forUpdate: true })
  if (!report) throw new ReportNotFound(String(id))
  await assertMayChange(trx, viewer, report)
  options.precondition?.(report)
  const next: ReportChanges = { title: changes.title }
  if (changes.params !== undefined) {
    next.params = await validateReportParams(trx, viewer.tenantId, report.type, changes.params)
    if ((await decideVisibility(trx, viewer, { type: report.type, params: next.params })) === 'forbidden') {
      throw new Forbidden('You may not change a report into one you could not see')
    }
  }
  const updated = await updateReport(trx, viewer.tenantId, id, next)
  if (!updated) throw new ReportNotFound(String(id))
  return updated
}

export async function deleteReportFor(
  trx: Db,
  viewer: Viewer,
  id: number,
  options: ChangeOptions = {},
): Promise<void> {
  const report = await getReport(trx, viewer.tenantId, id, { forUpdate: true })
  if (!report) throw new ReportNotFound(String(id))
  await assertMayChange(trx, viewer, report)
  options.precondition?.(report)
  await deleteReport(trx, viewer.tenantId, id)
}

export interface ListInput {
  type?: ReportTypeName
  limit: number
  cursor?: string
}

export interface ListResult {
  items: ReportRow[]
  nextCursor: string | null
}

/** Rows read per round while filling a page with visible definitions. */
const SCAN_BATCH = 200

/**
 * The definitions the caller may see, in id order, `limit` at a time. Rows
 * are scanned in id batches and filtered by visibility (one entity lookup
 * per batch) until the page is full; next_cursor is null on the last page.
 */
export async function listReportsFor(
  db: Kysely<Database>,
  viewer: Viewer,
  input: ListInput,
): Promise<ListResult> {
  let afterId: number | undefined
  if (input.cursor !== undefined) {
    afterId = decodeCursor(input.cursor) ?? undefined
    if (afterId === undefined) throw new InvalidFilter('querystring.cursor is not a valid cursor')
  }
  const items: ReportRow[] = []
  // One more than the page, to know whether another page exists.
  const wanted = input.limit + 1
  const batchSize = Math.max(wanted, SCAN_BATCH)
  for (;;) {
    const batch = await listReports(db, viewer.tenantId, { afterId, type: input.type, limit: batchSize })
    const entities = await resolveEntities(db, viewer.tenantId, batch)
    for (const row of batch) {
      if (visibilityOf(viewer, row, entities) !== 'forbidden') items.push(row)
      if (items.length === wanted) break
    }
    if (items.length === wanted || batch.length < batchSize) break
    afterId = batch[batch.length - 1].id
  }
  const more = items.length > input.limit
  const page = items.slice(0, input.limit)
  return { items: page, nextCursor: more ? encodeCursor(page[page.length - 1].id) : null }
}
