// Hit-rate counters in time buckets. Every answered request is counted in
// process (no I/O on the request path); a sink (Redis) receives the deltas at
// most once a second, so the shared buckets sum every instance. Without a
// sink, or while it fails, the process's own buckets answer.
import { assertKind, type TenantId, tenantPart } from './keys.js'
import { type CacheResult, emptyCounts, hitRate, type ResultCounts } from './stats.js'

export type AnswerField = keyof ResultCounts

export const ANSWER_FIELDS: readonly AnswerField[] = [
  'hits',
  'misses',
  'stale',
  'bypass',
  'not_modified',
  'coalesced',
]

/**
 * How one report request was answered, from the cache result and whether the
 * response was a 304. A 304 computed now (after a miss or a bypass) is counted
 * as computed: the point of the figure is the work saved.
 */
export function answerOf(result: CacheResult, notModified: boolean): AnswerField {
  switch (result) {
    case 'not-modified':
      return 'not_modified'
    case 'hit':
      return notModified ? 'not_modified' : 'hits'
    case 'stale':
      return notModified ? 'not_modified' : 'stale'
    case 'coalesced':
      return 'coalesced'
    case 'miss':
      return 'misses'
    case 'bypass':
      return 'bypass'
  }
}

export const HIT_RATE_WINDOWS = { '1m': 60, '5m': 300, '1h': 3600, '24h': 86_400 } as const
export type HitRateWindowName = keyof typeof HIT_RATE_WINDOWS

/** Short windows read 10 s buckets; long ones 60 s buckets (at most 1440 keys for 24 h). */
export const FINE_BUCKET_SECONDS = 10
export const COARSE_BUCKET_SECONDS = 60
/** Kept a little longer than the longest window each width serves. */
export const FINE_KEEP_SECONDS = 15 * 60
export const COARSE_KEEP_SECONDS = 25 * 3600

export function bucketSecondsFor(windowSeconds: number): number {
  return windowSeconds <= 300 ? FINE_BUCKET_SECONDS : COARSE_BUCKET_SECONDS
}

/** One tenant's counts in one bucket, by kind, and the time (ms) of the newest request counted. */
export interface BucketCounts {
  byKind: Record<string, ResultCounts>
  last: number
}

/** A fine bucket's increments for one tenant, as handed to the sink. */
export interface BucketDelta extends BucketCounts {
  tenant: string
  /** Start of the fine bucket, seconds since the epoch. */
  start: number
}

/** Shared storage of buckets (Redis). Adds each fine delta to its fine and its coarse bucket. */
export interface HitRateSink {
  add(deltas: readonly BucketDelta[]): Promise<void>
  /** Buckets of `width` seconds starting at `starts`, in order (empty ones included). */
  read(tenant: string, width: number, starts: readonly number[]): Promise<BucketCounts[]>
}

export interface TypeHitRate {
  /** Answered without computing: HIT, coalesced, STALE and 304. */
  hits: number
  /** Computed: MISS and BYPASS. */
  misses: number
  hit_rate: number
}

export interface HitRatePoint {
  start: string
  total_requests: number
  /** null when the bucket saw no request. */
  hit_rate: number | null
}

export interface HitRateSummary {
  /** HIT, including coalesced waiters (they computed nothing themselves). */
  hits: number
  misses: number
  stale: number
  bypass: number
  not_modified: number
  /** Of `hits`: requests that waited on another request's computation. */
  coalesced: number
  total_requests: number
  hit_rate: number
  by_type: Record<string, TypeHitRate>
  window_seconds: number
  bucket_seconds: number
  last_updated: string | null
  /** `shared`: summed over every instance; `instance`: this process only (memory store, or Redis failing). */
  source: 'shared' | 'instance'
  series?: HitRatePoint[]
}

export interface HitRateRecorderOptions {
  sink?: HitRateSink
  /** Default 1000 ms: the sink sees at most one write batch per interval from the timer. */
  flushIntervalMs?: number
  now?: () => number
  onError?: (err: unknown, operation: 'flush' | 'read') => void
}

class Tally implements BucketCounts {
  byKind: Record<string, ResultCounts> = {}
  last = 0

  add(kind: string, field: AnswerField, by: number, at: number): void {
    this.byKind[kind] ??= emptyCounts()
    this.byKind[kind][field] += by
    if (at > this.last) this.last = at
  }

  merge(other: BucketCounts): void {
    for (const [kind, counts] of Object.entries(other.byKind)) {
      for (const field of ANSWER_FIELDS) if (counts[field]) this.add(kind, field, counts[field], 0)
    }
    if (other.last > this.last) this.last = other.last
  }
}

/** tenant → bucket start (s) → tally */
type Buckets = Map<string, Map<number, Tally>>

function bucketOf(buckets: Buckets, tenant: string, start: number): Tally {
  let byStart = buckets.get(tenant)
  if (!byStart) {
    byStart = new Map()
    buckets.set(tenant, byStart)
  }
  let tally = byStart.get(start)
  if (!tally) {
    tally = new Tally()
    byStart.set(start, tally)
  }
  return tally
}

function prune(buckets: Buckets, oldestKept: number): void {
  for (const [tenant, byStart] of buckets) {
    for (const start of byStart.keys()) if (start < oldestKept) byStart.delete(start)
    if (byStart.size === 0) buckets.delete(tenant)
  }
}

function startOf(seconds: number, width: number): number {
  return Math.floor(seconds / width) * width
}

export class HitRateRecorder {
  readonly #sink: HitRateSink | undefined
  readonly #flushIntervalMs: number
  readonly #now: () => number
  readonly #onError: NonNullable<HitRateRecorderOptions['onError']>
  /** This process's history, by bucket width. */
  readonly #local = new Map<number, Buckets>([
    [FINE_BUCKET_SECONDS, new Map()],
    [COARSE_BUCKET_SECONDS, new Map()],
  ])
  /** Fine-bucket increments not yet in the sink. */
  #pending: Buckets = new Map()
  #flushing: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #prunedAt = 0
  /** The tallies of the current second, by tenant and kind: a record is a few increments. */
  #slots = new Map<TenantId, Map<string, Tally[]>>()
  #slotSecond = -1

  constructor(options: HitRateRecorderOptions = {}) {
    this.#sink = options.sink
    this.#flushIntervalMs = Math.max(options.flushIntervalMs ?? 1000, 1000)
    this.#now = options.now ?? Date.now
    this.#onError = options.onError ?? (() => {})
  }

  get shared(): boolean {
    return this.#sink !== undefined
  }

  /** Counts one answered request. Synchronous, in memory only, O(1). */
  record(tenantId: TenantId, kind: string, field: AnswerField): void {
    const now = this.#now()
    const seconds = Math.floor(now / 1000)
    if (seconds !== this.#slotSecond) this.#newSecond(seconds)
    let byKind = this.#slots.get(tenantId)
    if (!byKind) {
      byKind = new Map()
      this.#slots.set(tenantId, byKind)
    }
    let tallies = byKind.get(kind)
    if (!tallies) {
      tallies = this.#talliesOf(tenantPart(tenantId), kind, seconds)
      byKind.set(kind, tallies)
    }
    for (const tally of tallies) {
      tally.byKind[kind][field]++
      if (now > tally.last) tally.last = now
    }
  }

  /** The buckets a request of this second counts in: one per width, and the sink's pending one. */
  #talliesOf(tenant: string, kind: string, seconds: number): Tally[] {
    assertKind(kind)
    const tallies: Tally[] = []
    for (const [width, buckets] of this.#local)
      tallies.push(bucketOf(buckets, tenant, startOf(seconds, width)))
    if (this.#sink) tallies.push(bucketOf(this.#pending, tenant, startOf(seconds, FINE_BUCKET_SECONDS)))
    for (const tally of tallies) tally.byKind[kind] ??= emptyCounts()
    return tallies
  }

  #newSecond(seconds: number): void {
    this.#slotSecond = seconds
    this.#slots.clear()
    if (seconds - this.#prunedAt >= FINE_BUCKET_SECONDS) {
      this.#prunedAt = seconds
      prune(this.#local.get(FINE_BUCKET_SECONDS)!, seconds - FINE_KEEP_SECONDS)
      prune(this.#local.get(COARSE_BUCKET_SECONDS)!, seconds - COARSE_KEEP_SECONDS)
    }
  }

  /** Starts the periodic flush to the sink (no-op without one). */
  start(): void {
    if (!this.#sink || this.#timer) return
    this.#timer = setInterval(() => {
      this.flush().catch((err: unknown) => this.#onError(err, 'flush'))
    }, this.#flushIntervalMs)
    this.#timer.unref()
  }

  /** Stops the timer and flushes what is left (failures are reported, not thrown). */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.flush().catch((err: unknown) => this.#onError(err, 'flush'))
  }

  /** Sends the pending increments to the sink; one flush at a time. Failed increments are kept for the next. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing.catch(() => {})
    const sink = this.#sink
    if (!sink || this.#pending.size === 0) return
    const batch = this.#pending
    this.#pending = new Map()
    // The slots point into the batch being sent: the next record starts new ones.
    this.#slotSecond = -1
    const deltas: BucketDelta[] = []
    for (const [tenant, byStart] of batch) {
      for (const [start, tally] of byStart)
        deltas.push({ tenant, start, byKind: tally.byKind, last: tally.last })
    }
    const run = sink.add(deltas).catch((err: unknown) => {
      // Keep them (bounded by age) so an outage only delays the figures.
      const oldest = Math.floor(this.#now() / 1000) - COARSE_KEEP_SECONDS
      for (const d of deltas) if (d.start >= oldest) bucketOf(this.#pending, d.tenant, d.start).merge(d)
      throw err
    })
    this.#flushing = run
    try {
      await run
    } finally {
      if (this.#flushing === run) this.#flushing = undefined
    }
  }

  /**
   * The tenant's figures over the last `windowSeconds` (the current bucket and the
   * ones before it): summed over every instance when a sink is set and reachable.
   */
  async window(
    tenantId: TenantId,
    windowSeconds: number,
    options: { series?: boolean } = {},
  ): Promise<HitRateSummary> {
    const tenant = tenantPart(tenantId)
    const width = bucketSecondsFor(windowSeconds)
    const count = Math.max(1, Math.round(windowSeconds / width))
    const current = startOf(Math.floor(this.#now() / 1000), width)
    const starts = Array.from({ length: count }, (_, i) => current - (count - 1 - i) * width)
    if (this.#sink) {
      try {
        // Flushing first makes this instance's latest requests visible in the sum.
        await this.flush()
        const buckets = await this.#sink.read(tenant, width, starts)
        return summarise(buckets, starts, width, count * width, 'shared', options.series)
      } catch (err) {
        this.#onError(err, 'read')
      }
    }
    const local = this.#local.get(width)!.get(tenant)
    const buckets = starts.map((s) => local?.get(s) ?? { byKind: {}, last: 0 })
    return summarise(buckets, starts, width, count * width, 'instance', options.series)
  }
}

function add(into: ResultCounts, from: ResultCounts): void {
  for (const field of ANSWER_FIELDS) into[field] += from[field]
}

function totalOf(c: ResultCounts): number {
  return c.hits + c.misses + c.stale + c.bypass + c.not_modified + c.coalesced
}

/** API.md "GET /cache/hit-rate" from buckets (in time order). */
export function summarise(
  buckets: readonly BucketCounts[],
  starts: readonly number[],
  width: number,
  windowSeconds: number,
  source: HitRateSummary['source'],
  withSeries = false,
): HitRateSummary {
  const total = emptyCounts()
  const byKind = new Map<string, ResultCounts>()
  let last = 0
  const series: HitRatePoint[] = []
  buckets.forEach((bucket, i) => {
    const inBucket = emptyCounts()
    for (const [kind, counts] of Object.entries(bucket.byKind)) {
      add(inBucket, counts)
      let k = byKind.get(kind)
      if (!k) {
        k = emptyCounts()
        byKind.set(kind, k)
      }
      add(k, counts)
    }
    add(total, inBucket)
    if (bucket.last > last) last = bucket.last
    const requests = totalOf(inBucket)
    series.push({
      start: new Date(starts[i] * 1000).toISOString(),
      total_requests: requests,
      hit_rate: requests === 0 ? null : hitRate(inBucket),
    })
  })
  const byType: Record<string, TypeHitRate> = {}
  for (const [kind, c] of [...byKind].sort(([a], [b]) => a.localeCompare(b))) {
    if (totalOf(c) === 0) continue
    byType[kind] = {
      hits: c.hits + c.coalesced + c.stale + c.not_modified,
      misses: c.misses + c.bypass,
      hit_rate: hitRate(c),
    }
  }
  const summary: HitRateSummary = {
    hits: total.hits + total.coalesced,
    misses: total.misses,
    stale: total.stale,
    bypass: total.bypass,
    not_modified: total.not_modified,
    coalesced: total.coalesced,
    total_requests: totalOf(total),
    hit_rate: hitRate(total),
    by_type: byType,
    window_seconds: windowSeconds,
    bucket_seconds: width,
    last_updated: last > 0 ? new Date(last).toISOString() : null,
    source,
  }
  if (withSeries) summary.series = series
  return summary
}
