// Cache operations on a tenant's reports, shared by the /cache routes and the
// CLI: warm (compute and store through the same reader as GET /reports/:id),
// invalidate (one version bump), and the store's figures.
import type { Db } from '../../db/database.js'
import type { Principal } from '../access/viewer.js'
import type { TaggedCache } from '../cache/cache.js'
import { reportKeyPrefix, TENANT_WIDE_TAG } from '../cache/keys.js'
import type { PolicyTable } from '../cache/policy.js'
import type { KindStats } from '../cache/store.js'
import { ReportNotFound } from '../errors.js'
import { getReport } from './definitions.js'
import { REPORT_TYPE_NAMES } from './registry.js'
import type { ReportReader } from './report-reader.js'
import { tag } from './tags.js'
import type { ReportTypeName } from './types.js'

export const WARM_CONCURRENCY = 4
/** Most reports one warm request may name or select by type. */
export const MAX_WARM_REPORTS = 10_000

export interface WarmError {
  report_id: number
  message: string
}

export interface WarmSummary {
  total: number
  cached: number
  failed: number
  errors: WarmError[]
}

export interface WarmOptions {
  /** Report GET query values (strings, as in a query string). */
  filters?: Readonly<Record<string, string>>
  concurrency?: number
  onProgress?: (done: number, total: number) => void
  /** Errors that are not the caller's (database down, bugs); their message is not passed on. */
  onUnexpected?: (err: unknown, reportId: number) => void
}

/** Ids of the tenant's reports of one type, in id order (at most MAX_WARM_REPORTS). */
export async function reportIdsOfType(db: Db, tenantId: number, type: ReportTypeName): Promise<number[]> {
  const rows = await db
    .selectFrom('reports')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('type', '=', type)
    .orderBy('id')
    .limit(MAX_WARM_REPORTS)
    .execute()
  return rows.map((r) => r.id)
}

function isClientError(err: unknown): err is Error {
  const status = (err as { statusCode?: unknown }).statusCode
  return err instanceof Error && typeof status === 'number' && status >= 400 && status < 500
}

/**
 * Reads each report as `principal` would with GET /reports/:id (same key, same
 * access checks), so a report computed here is a HIT for the next GET. A report
 * that is missing, not visible to the principal, or cannot be stored (BYPASS)
 * counts as failed with a message.
 */
export async function warmReports(
  reader: ReportReader,
  principal: Principal,
  reportIds: readonly number[],
  options: WarmOptions = {},
): Promise<WarmSummary> {
  const ids = [...new Set(reportIds)]
  const errors: WarmError[] = []
  let cached = 0
  let done = 0
  let next = 0
  const warmOne = async (reportId: number): Promise<void> => {
    try {
      const outcome = await reader.read({ principal, reportId, query: options.filters ?? {}, warming: true })
      if (outcome.result === 'bypass') {
        errors.push({
          report_id: reportId,
          message: 'not stored: the cache is unavailable or this type is not cached',
        })
      } else {
        cached++
      }
    } catch (err) {
      if (isClientError(err)) {
        // The filters come from a body or a command line here, not a query string.
        errors.push({ report_id: reportId, message: err.message.replaceAll('querystring.', 'filters.') })
      } else {
        options.onUnexpected?.(err, reportId)
        errors.push({ report_id: reportId, message: 'the report could not be computed' })
      }
    }
    done++
    options.onProgress?.(done, ids.length)
  }
  const worker = async (): Promise<void> => {
    while (next < ids.length) await warmOne(ids[next++])
  }
  const concurrency = Math.max(1, Math.min(options.concurrency ?? WARM_CONCURRENCY, ids.length))
  await Promise.all(Array.from({ length: concurrency }, worker))
  errors.sort((a, b) => a.report_id - b.report_id)
  return { total: ids.length, cached, failed: errors.length, errors }
}

export interface InvalidationSummary {
  /**
   * Entries stored for the tenant (or report) just before the invalidation: an
   * estimate, since entries already invalid or evicted but not yet reclaimed still count.
   */
  invalidatedKeys: number
  /** True when the wait bound passed before delivery: it is in the log, and will be delivered. */
  pending: boolean
}

/** Writes invalidation records for the tenant through the log (app.invalidation.record). */
export type RecordInvalidation = (tags: readonly string[]) => Promise<{ pending: boolean }>

/** Invalidates every cached entry of the tenant: one tenant-wide record in the invalidation log. */
export async function invalidateTenantCache(
  cache: TaggedCache,
  tenantId: number,
  record: RecordInvalidation,
): Promise<InvalidationSummary> {
  const before = await cache.countEntries(tenantId)
  const { pending } = await record([TENANT_WIDE_TAG])
  return { invalidatedKeys: before ?? 0, pending }
}

/**
 * Invalidates every cached result of one report (all filters and scopes): a
 * record of its `report:` tag in the invalidation log. REPORT_NOT_FOUND outside the tenant.
 */
export async function invalidateReportCache(
  db: Db,
  cache: TaggedCache,
  tenantId: number,
  reportId: number,
  record: RecordInvalidation,
): Promise<InvalidationSummary> {
  if (!(await getReport(db, tenantId, reportId))) throw new ReportNotFound(String(reportId))
  const before = await cache.countEntries(tenantId, reportKeyPrefix(tenantId, reportId))
  const { pending } = await record([tag.report(reportId)])
  return { invalidatedKeys: before ?? 0, pending }
}

export interface CacheStats {
  backend: 'redis' | 'memory'
  status: 'operational' | 'degraded'
  ttl_map: Record<string, number>
  /** null while the store cannot be reached. */
  keys: number | null
  memory_bytes: number | null
  /** Report types only. */
  by_type: Record<string, KindStats>
  /** The definition and access values read with each report: counted apart, not report types. */
  internal: KindStats & { by_kind: Record<string, KindStats> }
}

/** API.md "GET /cache/stats": counters the store keeps on write (no KEYS, no full scan). */
export async function cacheStats(
  cache: TaggedCache,
  policies: PolicyTable,
  tenantId: number,
): Promise<CacheStats> {
  const stats = await cache.storeStats(tenantId)
  const byType: Record<string, KindStats> = {}
  const internal: CacheStats['internal'] = { keys: 0, bytes: 0, by_kind: {} }
  for (const [kind, size] of Object.entries(stats?.byKind ?? {})) {
    if ((REPORT_TYPE_NAMES as readonly string[]).includes(kind)) {
      byType[kind] = size
    } else {
      internal.by_kind[kind] = size
      internal.keys += size.keys
      internal.bytes += size.bytes
    }
  }
  return {
    backend: cache.store.backend,
    status: stats === undefined ? 'degraded' : cache.health(),
    ttl_map: policies.ttlMap(),
    keys: stats?.keys ?? null,
    memory_bytes: stats?.bytes ?? null,
    by_type: byType,
    internal,
  }
}
