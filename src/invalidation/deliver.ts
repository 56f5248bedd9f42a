// Delivers log records to the cache: one store call per tenant (its records,
// each with its seq, so a record delivered before moves nothing),
// and a reset for records that concern every tenant (TRUNCATE).
import type { TaggedCache } from '../cache/cache.js'
import type { LogRecord } from './log.js'

/**
 * True when every record reached the store; false when the store could not be reached.
 * `position`: the WAL position at or above the commit of every record (replica routing).
 */
export async function deliverRecords(
  cache: TaggedCache,
  records: readonly LogRecord[],
  position?: string,
): Promise<boolean> {
  if (records.length === 0) return true
  const byTenant = new Map<number, { seq: number; tag: string }[]>()
  let everyTenant = false
  for (const r of records) {
    if (r.tenantId === null) {
      everyTenant = true
      continue
    }
    let batch = byTenant.get(r.tenantId)
    if (!batch) {
      batch = []
      byTenant.set(r.tenantId, batch)
    }
    batch.push({ seq: r.seq, tag: r.tag })
  }
  if (everyTenant) {
    try {
      await cache.reset()
    } catch {
      return false
    }
  }
  const outcomes = await Promise.all(
    [...byTenant].map(([tenantId, batch]) => cache.deliver(tenantId, batch, position)),
  )
  return outcomes.every((o) => o.delivered)
}
