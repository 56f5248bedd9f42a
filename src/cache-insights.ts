// What the dashboard shows beyond the hit-rate buckets, counted in this
// process since it started (bounded): per report type the share answered
// without computing and the computation time (p50/p95); the reports that cost
// the most computation time, each with its own hit rate; the hottest keys
// (no bodies); the recent invalidations. Not shared across instances.
import type { CacheResult } from './cache/stats.js'
import type { InvalidationEvent } from './invalidation-events.js'

interface KeyInsights {
  type: string
  requests: number
  answered: number
  /** Body bytes when last served; unknown while only 304s were answered. */
  bytes?: number
  /** The report id in the key (read once, when the key is first seen). */
  reportId: string | undefined
}

const MAX_REPORTS = 2000
const MAX_KEYS = 2000
const MAX_SAMPLES = 500
const MAX_INVALIDATIONS = 50
const TOP = 10

/** Answered without computing (API.md: HIT, STALE and 304 count as answered). */
const ANSWERED: ReadonlySet<CacheResult> = new Set(['hit', 'stale', 'not-modified', 'coalesced'])

interface Counts {
  requests: number
  answered: number
  computations: number
  computeSeconds: number
}

interface TenantInsights {
  types: Map<string, Counts & { samples: number[] }>
  reports: Map<string, Counts & { type: string }>
  keys: Map<string, KeyInsights>
  invalidations: Array<{ at: string; reason: string; tags: string[]; delivered: boolean }>
}

export interface InsightsSummary {
  by_type: Record<
    string,
    { requests: number; hit_rate: number; computations: number; p50_ms: number | null; p95_ms: number | null }
  >
  top_reports: Array<{
    report_id: number
    type: string
    computations: number
    compute_ms: number
    requests: number
    hit_rate: number
  }>
  hottest_keys: Array<{ key: string; type: string; requests: number; hit_rate: number }>
  /** The keys with the largest bodies this instance served (names and sizes only). */
  largest_keys: Array<{ key: string; type: string; bytes: number; requests: number }>
  invalidations: Array<{ at: string; reason: string; tags: string[]; delivered: boolean }>
}

const REPORT_ID = /^report:\{[^}]*\}:([0-9]+):/

function percent(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 100
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 100_000) / 100
}

/** Adds to a bounded map: past `max` entries the oldest-inserted is dropped. */
function bounded<V>(map: Map<string, V>, key: string, max: number, make: () => V): V {
  let value = map.get(key)
  if (value === undefined) {
    if (map.size >= max) map.delete(map.keys().next().value as string)
    value = make()
    map.set(key, value)
  }
  return value
}

/** Like bounded, for the per-request path: `make` runs (and is allocated by the caller) only for a new key. */
function insert<V>(map: Map<string, V>, key: string, max: number, value: V): V {
  if (map.size >= max) map.delete(map.keys().next().value as string)
  map.set(key, value)
  return value
}

function newTypeInsights() {
  return { requests: 0, answered: 0, computations: 0, computeSeconds: 0, samples: [] as number[] }
}

export class CacheInsights {
  readonly #tenants = new Map<string, TenantInsights>()

  #tenant(tenantId: number): TenantInsights {
    return bounded(this.#tenants, String(tenantId), 10_000, () => ({
      types: new Map(),
      reports: new Map(),
      keys: new Map(),
      invalidations: [],
    }))
  }

  /** On every report read: a few map lookups, nothing allocated for keys seen before. */
  recordResult(tenantId: number, key: string, type: string, result: CacheResult, bytes?: number): void {
    const t = this.#tenants.get(String(tenantId)) ?? this.#tenant(tenantId)
    const answered = ANSWERED.has(result) ? 1 : 0
    const byType = t.types.get(type) ?? insert(t.types, type, 100, newTypeInsights())
    byType.requests++
    byType.answered += answered
    const k =
      t.keys.get(key) ??
      insert<KeyInsights>(t.keys, key, MAX_KEYS, {
        type,
        requests: 0,
        answered: 0,
        reportId: REPORT_ID.exec(key)?.[1],
      })
    k.requests++
    k.answered += answered
    if (bytes !== undefined) k.bytes = bytes
    const reportId = k.reportId
    if (reportId !== undefined) {
      const report =
        t.reports.get(reportId) ??
        insert(t.reports, reportId, MAX_REPORTS, {
          type,
          requests: 0,
          answered: 0,
          computations: 0,
          computeSeconds: 0,
        })
      report.requests++
      report.answered += answered
    }
  }

  recordCompute(tenantId: number, key: string, type: string, seconds: number): void {
    const t = this.#tenant(tenantId)
    const byType = bounded(t.types, type, 100, () => ({
      requests: 0,
      answered: 0,
      computations: 0,
      computeSeconds: 0,
      samples: [],
    }))
    byType.computations++
    byType.computeSeconds += seconds
    byType.samples.push(seconds)
    if (byType.samples.length > MAX_SAMPLES) byType.samples.shift()
    const reportId = REPORT_ID.exec(key)?.[1]
    if (reportId !== undefined) {
      const report = bounded(t.reports, reportId, MAX_REPORTS, () => ({
        type,
        requests: 0,
        answered: 0,
        computations: 0,
        computeSeconds: 0,
      }))
      report.computations++
      report.computeSeconds += seconds
    }
  }

  recordInvalidation(event: InvalidationEvent): void {
    // A TRUNCATE (tenantId null) invalidated every tenant: each ring shows it.
    const rings =
      event.tenantId === null
        ? [...this.#tenants.values()].map((t) => t.invalidations)
        : [this.#tenant(event.tenantId).invalidations]
    const entry = {
      at: new Date().toISOString(),
      reason: event.reason,
      tags: [...event.tags],
      delivered: event.delivered,
    }
    for (const ring of rings) {
      ring.unshift(entry)
      if (ring.length > MAX_INVALIDATIONS) ring.length = MAX_INVALIDATIONS
    }
  }

  summary(tenantId: number): InsightsSummary {
    const t = this.#tenants.get(String(tenantId)) ?? this.#tenant(tenantId)
    const by_type: InsightsSummary['by_type'] = {}
    for (const [type, c] of t.types) {
      const sorted = [...c.samples].sort((a, b) => a - b)
      by_type[type] = {
        requests: c.requests,
        hit_rate: percent(c.answered, c.requests),
        computations: c.computations,
        p50_ms: quantile(sorted, 0.5),
        p95_ms: quantile(sorted, 0.95),
      }
    }
    const top_reports = [...t.reports.entries()]
      .filter(([, r]) => r.computations > 0)
      .sort(([, a], [, b]) => b.computeSeconds - a.computeSeconds)
      .slice(0, TOP)
      .map(([id, r]) => ({
        report_id: Number(id),
        type: r.type,
        computations: r.computations,
        compute_ms: Math.round(r.computeSeconds * 100_000) / 100,
        requests: r.requests,
        hit_rate: percent(r.answered, r.requests),
      }))
    const hottest_keys = [...t.keys.entries()]
      .sort(([, a], [, b]) => b.requests - a.requests)
      .slice(0, TOP)
      .map(([key, k]) => ({
        key,
        type: k.type,
        requests: k.requests,
        hit_rate: percent(k.answered, k.requests),
      }))
    const largest_keys = [...t.keys.entries()]
      .filter(
        (entry): entry is [string, (typeof entry)[1] & { bytes: number }] => entry[1].bytes !== undefined,
      )
      .sort(([, a], [, b]) => b.bytes - a.bytes)
      .slice(0, TOP)
      .map(([key, k]) => ({ key, type: k.type, bytes: k.bytes, requests: k.requests }))
    return { by_type, top_reports, hottest_keys, largest_keys, invalidations: [...t.invalidations] }
  }
}
