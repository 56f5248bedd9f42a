// Queries on stored report definitions, always within one tenant. Access
// rules are not decided here (see manage-reports.ts and run-report.ts).
import { sql } from 'kysely'
import type { Db, ReportRow } from '../../db/database.js'
import type { ReportTypeName } from './types.js'

export interface NewReport {
  tenantId: number
  type: ReportTypeName
  title: string
  params: Record<string, unknown>
  createdBy: number
}

/** A definition as clients see it. */
export interface ReportDefinitionJson {
  id: number
  type: ReportTypeName
  title: string
  params: Record<string, unknown>
  created_by: number
  revision: number
  created_at: string
  updated_at: string
}

export function toJson(row: ReportRow): ReportDefinitionJson {
  return {
    id: row.id,
    type: row.type,
    title: row.title,
    params: row.params,
    created_by: row.created_by,
    revision: row.revision,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  }
}

export async function createReport(db: Db, report: NewReport): Promise<ReportRow> {
  return db
    .insertInto('reports')
    .values({
      tenant_id: report.tenantId,
      type: report.type,
      title: report.title,
      params: JSON.stringify(report.params),
      created_by: report.createdBy,
      updated_at: sql<Date>`now()`,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** The definition if it exists in the tenant (another tenant's is "not found"). */
export async function getReport(
  db: Db,
  tenantId: number,
  id: number,
  options: { forUpdate?: boolean } = {},
): Promise<ReportRow | undefined> {
  return db
    .selectFrom('reports')
    .selectAll()
    .where('id', '=', id)
    .where('tenant_id', '=', tenantId)
    .$if(options.forUpdate === true, (q) => q.forUpdate())
    .executeTakeFirst()
}

export interface ListPage {
  /** Only ids greater than this (keyset pagination on id). */
  afterId?: number
  type?: ReportTypeName
  limit: number
}

/** A page of definitions in id order, before any access filtering. */
export async function listReports(db: Db, tenantId: number, page: ListPage): Promise<ReportRow[]> {
  return db
    .selectFrom('reports')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(page.afterId !== undefined, (q) => q.where('id', '>', page.afterId as number))
    .$if(page.type !== undefined, (q) => q.where('type', '=', page.type as ReportTypeName))
    .orderBy('id')
    .limit(page.limit)
    .execute()
}

export interface ReportChanges {
  title?: string
  params?: Record<string, unknown>
}

/** Applies the changes and bumps the revision; undefined if the report is gone. */
export async function updateReport(
  db: Db,
  tenantId: number,
  id: number,
  changes: ReportChanges,
): Promise<ReportRow | undefined> {
  return db
    .updateTable('reports')
    .set((eb) => ({
      ...(changes.title !== undefined ? { title: changes.title } : {}),
      ...(changes.params !== undefined ? { params: JSON.stringify(changes.params) } : {}),
      revision: eb('revision', '+', 1),
      updated_at: sql<Date>`now()`,
    }))
    .where('id', '=', id)
    .where('tenant_id', '=', tenantId)
    .returningAll()
    .executeTakeFirst()
}

export async function deleteReport(db: Db, tenantId: number, id: number): Promise<boolean> {
  const result = await db
    .deleteFrom('reports')
    .where('id', '=', id)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst()
  return result.numDeletedRows > 0n
}

// Cursors are opaque to clients (base64url of a tagged id), so the paging
// scheme can change without breaking them.
const CURSOR_PREFIX = 'r1:'

export function encodeCursor(lastId: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${lastId}`).toString('base64url')
}

/** The id after which the next page starts, or null for a cursor this service did not issue. */
export function decodeCursor(cursor: string): number | null {
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!text.startsWith(CURSOR_PREFIX)) return null
  const digits = text.slice(CURSOR_PREFIX.length)
  if (!/^\d{1,10}$/.test(digits)) return null
  const id = Number(digits)
  return id >= 1 && id <= 2_147_483_647 ? id : null
}
