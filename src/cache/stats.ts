// Counts of how reads are answered (the shape hit-rate and tests tally from
// the cache's channel, cache-events.ts) and the cache's rarer events, which
// it counts itself and metrics reads at scrape time.

/** How one getOrCompute was answered. */
export type CacheResult = 'hit' | 'miss' | 'stale' | 'bypass' | 'not-modified' | 'coalesced'

export interface ResultCounts {
  hits: number
  misses: number
  stale: number
  bypass: number
  not_modified: number
  coalesced: number
}

export interface EventCounts {
  /** Store calls that failed (timeouts, connection errors, open circuit). */
  storeErrors: number
  /** Tag bumps requested. */
  invalidations: number
  /** Tag bumps that could not reach the store (kept pending until flushed). */
  failedInvalidations: number
  /** Computed bodies the store refused because a tag moved during the computation. */
  refusedWrites: number
  /** Bodies served uncached because they exceed the entry size limit. */
  oversize: number
  /** Background stale-while-revalidate refreshes that failed. */
  refreshErrors: number
}

export const RESULT_FIELD: Record<CacheResult, keyof ResultCounts> = {
  hit: 'hits',
  miss: 'misses',
  stale: 'stale',
  bypass: 'bypass',
  'not-modified': 'not_modified',
  coalesced: 'coalesced',
}

export function emptyCounts(): ResultCounts {
  return { hits: 0, misses: 0, stale: 0, bypass: 0, not_modified: 0, coalesced: 0 }
}

function emptyEvents(): EventCounts {
  return {
    storeErrors: 0,
    invalidations: 0,
    failedInvalidations: 0,
    refusedWrites: 0,
    oversize: 0,
    refreshErrors: 0,
  }
}

/** Monotonic counts of the cache's events (not of reads: those are events on the channel). */
export class CacheCounters {
  readonly #events = emptyEvents()

  count(event: keyof EventCounts, by = 1): void {
    this.#events[event] += by
  }

  get events(): Readonly<EventCounts> {
    return { ...this.#events }
  }
}

/**
 * Share of requests answered without computing, 0–100, rounded to 2 places: HIT,
 * STALE and 304 count as answered, and so do coalesced waiters (API.md: a request
 * that waited on another request's computation is not a miss; it ran none itself).
 */
export function hitRate(counts: ResultCounts): number {
  const answered = counts.hits + counts.stale + counts.not_modified + counts.coalesced
  const total = answered + counts.misses + counts.bypass
  return total === 0 ? 0 : Math.round((answered / total) * 10000) / 100
}
