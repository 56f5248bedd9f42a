// Delivers log records to the cache: one store call per tenant (its records,
// each with its seq, so a record delivered before moves nothing),
// and a reset for records that concern every tenant (TRUNCATE).
import type { TaggedCache } from '../cache/cache.js'
import { TENANT_WIDE_TAG } from '../cache/keys.js'
import type { LogRecord } from './log.js'

/**
 * Above this many records of one tenant in one delivery, the tenant's entries
 * are retired by one tenant-wide bump instead. A bulk statement outside the
 * API can touch tens of thousands of tags; their bumps were Redis scripts of
 * about 30 ms per 5,000 tags, every request of every tenant waiting behind
 * each. One record at the batch's highest seq outranks them all, and a second
 * delivery of the same records collapses the same way, so it moves nothing.
 */
export const MAX_TAGS_PER_DELIVERY = 1000

function collapsed(batch: { seq: number; tag: string }[]): { seq: number; tag: string }[] {
  if (batch.length <= MAX_TAGS_PER_DELIVERY) return batch
  return [{ seq: batch.reduce((max, r) => Math.max(max, r.seq), 0), tag: TENANT_WIDE_TAG }]
}

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
    [...byTenant].map(([tenantId, batch]) => cache.deliver(tenantId, collapsed(batch), position)),
  )
  return outcomes.every((o) => o.delivered)
}
