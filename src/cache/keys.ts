// Cache keys and tags. Every key carries its tenant as a Redis Cluster hash tag
// (`{tenant}`), so one tenant's entries, tag versions and leases share one slot
// and a Lua script may touch them together.
import { createHash } from 'node:crypto'

export type TenantId = string | number

/** `all` when the body does not depend on the viewer, else `u{userId}`. */
export type Scope = 'all' | `u${string}`

// Segments stay free of glob characters (*?[]\), braces and whitespace so keys
// are safe in SCAN/HSCAN MATCH patterns and in the hash-tag position.
const SEGMENT = /^[A-Za-z0-9_.=-]{1,128}$/
const TAG = /^[A-Za-z0-9_.:-]{1,200}$/
const KEY = /^([A-Za-z0-9_-]{1,64}):\{([A-Za-z0-9_.=-]{1,128})\}:[A-Za-z0-9_.:=-]{1,512}$/
const KIND = /^[A-Za-z0-9_.-]{1,64}$/

/** Reserved tag every entry depends on implicitly: bumping it invalidates a whole tenant. */
export const TENANT_WIDE_TAG = '*'

function segment(what: string, value: string | number): string {
  const text = String(value)
  if (!SEGMENT.test(text))
    throw new TypeError(`cache key ${what} ${JSON.stringify(text)} has invalid characters`)
  return text
}

const tenantParts = new Map<TenantId, string>()

/** The tenant id as it appears in keys, validated (once per id: every cache read asks). */
export function tenantPart(tenantId: TenantId): string {
  let part = tenantParts.get(tenantId)
  if (part === undefined) {
    part = segment('tenant', tenantId)
    if (tenantParts.size >= 10_000) tenantParts.clear()
    tenantParts.set(tenantId, part)
  }
  return part
}

/** Scope of a body shared by every viewer, or of one viewer's personal body. */
export function scopeFor(userId?: string | number): Scope {
  return userId === undefined ? 'all' : `u${segment('user', userId)}`
}

/**
 * Canonical JSON: object keys sorted at every depth, `undefined` members dropped,
 * arrays kept in order (the caller sorts sets and applies defaults first).
 */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null'
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (value instanceof Date) return JSON.stringify(value.toISOString())
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`
  const record = value as Record<string, unknown>
  const members = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`)
  return `{${members.join(',')}}`
}

/** Short, key-safe hash of canonicalised filters (sha1, base64url, 16 chars = 96 bits). */
export function filtersHash(filters: Readonly<Record<string, unknown>> | string): string {
  const text = typeof filters === 'string' ? filters : canonicalJson(filters)
  // Few distinct filter sets recur: a HIT should not hash its key every time.
  let hash = hashedFilters.get(text)
  if (hash === undefined) {
    hash = createHash('sha1').update(text).digest('base64url').slice(0, 16)
    if (hashedFilters.size >= 10_000) hashedFilters.clear()
    hashedFilters.set(text, hash)
  }
  return hash
}

const hashedFilters = new Map<string, string>()

/** `report:{tenant}:{reportId}:{scope}:{filtersHash}`. */
export function reportKey(parts: {
  tenantId: TenantId
  reportId: string | number
  scope: Scope
  filters: Readonly<Record<string, unknown>> | string
}): string {
  const scope = parts.scope === 'all' ? 'all' : `u${segment('scope', parts.scope.slice(1))}`
  return `report:{${tenantPart(parts.tenantId)}}:${segment('report id', parts.reportId)}:${scope}:${filtersHash(parts.filters)}`
}

/** Key of a small auxiliary value, e.g. `access:{1}:u7` for a viewer's access set. */
export function auxKey(namespace: string, tenantId: TenantId, id: string | number): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(namespace))
    throw new TypeError(`cache key namespace ${namespace} is invalid`)
  return `${namespace}:{${tenantPart(tenantId)}}:${segment('id', id)}`
}

/** Prefix shared by every key of one report in a tenant (for counting its entries). */
export function reportKeyPrefix(tenantId: TenantId, reportId: string | number): string {
  return `report:{${tenantPart(tenantId)}}:${segment('report id', reportId)}:`
}

/** Throws unless `key` is a well-formed cache key of `tenantId` (a programming error, not a store error). */
export function assertKeyOfTenant(key: string, tenantId: TenantId): void {
  const match = KEY.exec(key)
  if (!match) throw new TypeError(`cache key ${JSON.stringify(key)} is malformed`)
  if (match[2] !== String(tenantId))
    throw new TypeError(`cache key ${key} does not belong to tenant ${tenantId}`)
}

/** Throws unless every tag looks like `entity:id` (no newline, glob or brace characters). */
export function assertTags(tags: readonly string[]): void {
  for (const t of tags) {
    if (!TAG.test(t)) throw new TypeError(`cache tag ${JSON.stringify(t)} is invalid`)
  }
}

/** Throws unless `kind` can label statistics. */
export function assertKind(kind: string): void {
  if (!KIND.test(kind)) throw new TypeError(`cache kind ${JSON.stringify(kind)} is invalid`)
}

/** Sorted, de-duplicated tags. */
export function normaliseTags(tags: Iterable<string>): string[] {
  return [...new Set(tags)].sort()
}
