// Delivers log records to the cache: one store call per tenant (the tags of
// all its records, and the records' seqs so a second delivery moves nothing),
// and a reset for records that concern every tenant (TRUNCATE).
import type { TaggedCache } from '../cache/cache.js'
import type { LogRecord } from './log.js'

/** True when every record reached the store; false when the store could not be reached. */
export async function deliverRecords(cache: TaggedCache, records: readonly LogRecord[]): Promise<boolean> {
  if (records.length === 0) return true
  const byTenant = new Map<number, { seqs: number[]; tags: Set<string> }>()
  let everyTenant = false
  for (const r of records) {
    if (r.tenantId === null) {
      everyTenant = true
      continue
    }
    let batch = byTenant.get(r.tenantId)
    if (!batch) {
      batch = { seqs: [], tags: new Set() }
      byTenant.set(r.tenantId, batch)
    }
    batch.seqs.push(r.seq)
    batch.tags.add(r.tag)
  }
  if (everyTenant) {
    try {
      await cache.reset()
    } catch {
      return false
    }
  }
  const outcomes = await Promise.all(
    [...byTenant].map(([tenantId, b]) => cache.deliver(tenantId, b.seqs, [...b.tags])),
  )
  return outcomes.every((o) => o.delivered)
}
