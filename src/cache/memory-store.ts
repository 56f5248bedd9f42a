// In-process store for the embedded mode: a bounded LRU (entries and bytes) with
// the same tag-version rule as the Redis store (see store.ts). One process only.
import { randomUUID } from 'node:crypto'
import {
  assertKeyOfTenant,
  assertKind,
  assertTags,
  TENANT_WIDE_TAG,
  type TenantId,
  tenantPart,
} from './keys.js'
import {
  type AppliedRecord,
  type AuxValue,
  type CacheStore,
  type Entry,
  type EntryInput,
  type EntryMeta,
  type Freshness,
  freshnessAt,
  type GetOptions,
  type GetResult,
  ifNoneMatchHits,
  type KindStats,
  type LeaseState,
  type MainResult,
  type SetOutcome,
  type Stamp,
  type StoreBudgets,
  type StoreStats,
} from './store.js'

export interface MemoryStoreOptions extends StoreBudgets {
  /** Most entries kept; the least recently used go first. Default 10 000. */
  maxEntries?: number
  /** Most bytes kept (bodies plus bookkeeping). Default 64 MiB. */
  maxBytes?: number
  /** Larger bodies are not stored (`too-large`). Default 1 MiB. */
  maxEntryBytes?: number
  /** Past this many tag versions in a tenant, the tenant is invalidated and its versions dropped. Default 100 000. */
  maxTagsPerTenant?: number
  /** Clock (ms), injectable for tests. */
  now?: () => number
}

interface StoredEntry {
  tenant: string
  owner: string | undefined
  meta: EntryMeta
  body: Buffer
  bytes: number
  /** What get() hands out, made once at store time (read-only). */
  entry: Entry
  aux: AuxValue
}

interface TenantState {
  seq: number
  /** Version of the implicit tenant-wide tag. */
  all: number
  versions: Map<string, number>
  byKind: Map<string, KindStats>
  /** Bytes held by the tenant, and by each owner in it (for the budgets). */
  bytes: number
  owners: Map<string, number>
  /** Log records applied lately (insertion order, bounded): a second delivery is skipped. */
  applied: Set<number>
  /** Highest position delivered (store.ts `position`), and the generation in which it covers everything. */
  position: string
  positionGeneration: string | undefined
  /** The last stamp handed out, reused while neither seq nor the generation moved. */
  stamp?: Stamp
}

interface Lease {
  token: string
  expiresAt: number
}

// Rough per-entry bookkeeping cost, so many tiny entries still count against maxBytes.
const ENTRY_OVERHEAD_BYTES = 200
const MAX_LEASES = 10_000
const MAX_APPLIED_RECORDS = 10_000

export class MemoryStore implements CacheStore {
  readonly backend = 'memory' as const
  readonly maxEntryBytes: number
  readonly #maxEntries: number
  readonly #maxBytes: number
  readonly #maxTags: number
  readonly #tenantMaxBytes: number
  readonly #ownerMaxBytes: number
  readonly #now: () => number
  #generation = randomUUID()
  readonly #entries = new Map<string, StoredEntry>()
  readonly #tenants = new Map<string, TenantState>()
  readonly #leases = new Map<string, Lease>()
  #bytes = 0

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 10_000
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024
    this.maxEntryBytes = options.maxEntryBytes ?? 1024 * 1024
    this.#maxTags = options.maxTagsPerTenant ?? 100_000
    this.#tenantMaxBytes = options.tenantMaxBytes ?? Number.POSITIVE_INFINITY
    this.#ownerMaxBytes = options.ownerMaxBytes ?? Number.POSITIVE_INFINITY
    this.#now = options.now ?? Date.now
    if (!(this.#maxEntries >= 1) || !(this.#maxBytes >= 1))
      throw new RangeError('memory store bounds must be positive')
  }

  async get(tenantId: TenantId, key: string, options: GetOptions = {}): Promise<GetResult> {
    return this.peek(tenantId, key, options)
  }

  peek(tenantId: TenantId, key: string, options: GetOptions = {}): GetResult {
    const tenant = tenantPart(tenantId)
    this.#assertKey(key, tenantId, tenant)
    const state = this.#tenant(tenant)
    const now = this.#now()
    const found = this.#valid(key, state, now)
    let main: MainResult
    if (!found) main = { status: 'miss' }
    else {
      const { stored, freshness } = found
      // The stored entry itself (read-only): a hit copies nothing.
      if (freshness !== 'stale-if-error' && ifNoneMatchHits(options.ifNoneMatch, stored.meta.etag)) {
        main = { status: 'not-modified', meta: stored.meta, freshness }
      } else if (freshness === 'fresh') main = { status: 'hit', entry: stored.entry }
      else main = { status: 'stale', entry: stored.entry, freshness }
    }
    let lease: LeaseState = 'none'
    // Missing or stale (even when answered 304): whoever gets the lease refreshes it.
    if (options.lease && found?.freshness !== 'fresh') {
      lease = this.#acquire(key, options.lease.token, options.lease.ttlMs, now)
    }
    const also: (AuxValue | undefined)[] = []
    const auxKeys = options.also
    if (auxKeys) {
      for (const auxKey of auxKeys) {
        this.#assertKey(auxKey, tenantId, tenant)
        const aux = this.#valid(auxKey, state, now)
        also.push(aux?.freshness === 'fresh' ? aux.stored.aux : undefined)
      }
    }
    const result = main as GetResult
    result.stamp = this.#stampOf(tenant, state)
    result.lease = lease
    result.also = also
    return result
  }

  async stamp(tenantId: TenantId): Promise<Stamp> {
    const tenant = tenantPart(tenantId)
    return this.#stampOf(tenant, this.#tenant(tenant))
  }

  async set(
    tenantId: TenantId,
    key: string,
    stamp: Stamp,
    input: EntryInput,
    options: { releaseLease?: string } = {},
  ): Promise<SetOutcome> {
    assertKeyOfTenant(key, tenantId)
    assertTags(input.tags)
    assertKind(input.kind)
    const tenant = tenantPart(tenantId)
    if (stamp.tenant !== tenant)
      throw new TypeError(`stamp of tenant ${stamp.tenant} used for tenant ${tenant}`)
    if (options.releaseLease !== undefined) this.#release(key, options.releaseLease)
    if (input.body.length > this.maxEntryBytes) return 'too-large'
    if (input.ttlMs <= 0 && input.staleWhileRevalidateMs <= 0 && input.staleIfErrorMs <= 0) return 'skipped'
    const state = this.#tenant(tenant)
    if (!this.#stillValid(state, stamp.generation, stamp.seq, input.tags)) return 'refused'
    const now = this.#now()
    const freshUntil = now + Math.max(0, input.ttlMs)
    const meta: EntryMeta = {
      etag: input.etag,
      generatedAt: input.generatedAt,
      kind: input.kind,
      storedAt: now,
      freshUntil,
      staleWhileRevalidateUntil: freshUntil + Math.max(0, input.staleWhileRevalidateMs),
      staleIfErrorUntil: freshUntil + Math.max(0, input.staleIfErrorMs),
      stamp: stamp.seq,
      tags: Object.freeze([...input.tags]),
    }
    Object.freeze(meta)
    // Copy: the caller may reuse its buffer; hits then share this one read-only.
    const body = Buffer.from(input.body)
    const bytes = body.length + input.etag.length + input.tags.join('').length + ENTRY_OVERHEAD_BYTES
    const owner = input.owner
    if (bytes > this.#tenantMaxBytes || (owner !== undefined && bytes > this.#ownerMaxBytes))
      return 'too-large'
    this.#remove(key)
    const entry: Entry = Object.freeze({ ...meta, body })
    const aux: AuxValue = Object.freeze({ body, etag: meta.etag, generatedAt: meta.generatedAt })
    this.#entries.set(key, { tenant, owner, meta, body, bytes, entry, aux })
    this.#account(state, meta.kind, 1, bytes, owner)
    this.#evictOver(tenant, state, owner, key)
    this.#evict()
    return 'stored'
  }

  async bump(tenantId: TenantId, tags: readonly string[]): Promise<number> {
    assertTags(tags)
    const state = this.#tenant(tenantPart(tenantId))
    state.seq++
    for (const tag of tags) state.versions.set(tag, state.seq)
    // Versions may only be forgotten behind a tenant-wide bump (which outranks them all).
    if (state.versions.size > this.#maxTags) return this.bumpTenant(tenantId)
    return state.seq
  }

  async bumpTenant(tenantId: TenantId): Promise<number> {
    const state = this.#tenant(tenantPart(tenantId))
    state.seq++
    state.all = state.seq
    // Every entry and stamp older than `all` is invalid now, so older versions say nothing more.
    state.versions.clear()
    return state.seq
  }

  async apply(tenantId: TenantId, records: readonly AppliedRecord[], position?: string): Promise<boolean> {
    assertTags(records.map((r) => r.tag).filter((t) => t !== TENANT_WIDE_TAG))
    const state = this.#tenant(tenantPart(tenantId))
    const fresh = records.filter((r) => !state.applied.has(r.seq))
    if (fresh.length === 0) return false
    if (position !== undefined && position > state.position) state.position = position
    const tags = [...new Set(fresh.map((r) => r.tag))]
    if (tags.includes(TENANT_WIDE_TAG)) await this.bumpTenant(tenantId)
    else await this.bump(tenantId, tags)
    for (const r of fresh) state.applied.add(r.seq)
    for (const seq of state.applied) {
      if (state.applied.size <= MAX_APPLIED_RECORDS) break
      state.applied.delete(seq)
    }
    return true
  }

  async position(tenantId: TenantId, stamp: Stamp): Promise<string | undefined> {
    const state = this.#tenant(tenantPart(tenantId))
    const known = state.positionGeneration === this.#generation && stamp.generation === this.#generation
    return known ? state.position : undefined
  }

  async confirmPosition(tenantId: TenantId, stamp: Stamp, position: string): Promise<void> {
    if (stamp.generation !== this.#generation) return
    const state = this.#tenant(tenantPart(tenantId))
    if (position > state.position) state.position = position
    state.positionGeneration = this.#generation
  }

  async reset(): Promise<void> {
    // A new generation refuses every stamp and entry of the previous one.
    this.#generation = randomUUID()
    for (const key of [...this.#entries.keys()]) this.#remove(key)
  }

  async releaseLease(tenantId: TenantId, key: string, token: string): Promise<void> {
    assertKeyOfTenant(key, tenantId)
    this.#release(key, token)
  }

  async stats(tenantId: TenantId): Promise<StoreStats> {
    this.#purgeExpired()
    const state = this.#tenant(tenantPart(tenantId))
    const byKind: Record<string, KindStats> = {}
    let keys = 0
    let bytes = 0
    for (const [kind, s] of state.byKind) {
      if (s.keys === 0) continue
      byKind[kind] = { ...s }
      keys += s.keys
      bytes += s.bytes
    }
    return { keys, bytes, byKind }
  }

  async countEntries(tenantId: TenantId, keyPrefix = ''): Promise<number> {
    const tenant = tenantPart(tenantId)
    const now = this.#now()
    let count = 0
    for (const [key, stored] of this.#entries) {
      if (stored.tenant === tenant && key.startsWith(keyPrefix) && freshnessAt(stored.meta, now)) count++
    }
    return count
  }

  health(): 'operational' {
    return 'operational'
  }

  async close(): Promise<void> {
    this.#entries.clear()
    this.#leases.clear()
    this.#bytes = 0
  }

  /** Entries and bytes held now, across tenants (for bounds checks). */
  get size(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#bytes }
  }

  /** A key stored for this tenant was checked when written; any other is checked now. */
  #assertKey(key: string, tenantId: TenantId, tenant: string): void {
    if (this.#entries.get(key)?.tenant !== tenant) assertKeyOfTenant(key, tenantId)
  }

  #tenant(tenant: string): TenantState {
    let state = this.#tenants.get(tenant)
    if (!state) {
      state = {
        seq: 0,
        all: 0,
        versions: new Map(),
        byKind: new Map(),
        bytes: 0,
        owners: new Map(),
        applied: new Set(),
        position: '',
        positionGeneration: undefined,
      }
      this.#tenants.set(tenant, state)
    }
    return state
  }

  #stampOf(tenant: string, state: TenantState): Stamp {
    const last = state.stamp
    if (last && last.seq === state.seq && last.generation === this.#generation) return last
    state.stamp = Object.freeze({ tenant, generation: this.#generation, seq: state.seq })
    return state.stamp
  }

  #stillValid(state: TenantState, generation: string, stamp: number, tags: readonly string[]): boolean {
    if (generation !== this.#generation || state.all > stamp) return false
    for (const tag of tags) if ((state.versions.get(tag) ?? 0) > stamp) return false
    return true
  }

  /** The entry if tag-valid and within some window; drops it otherwise; refreshes its LRU position. */
  #valid(
    key: string,
    state: TenantState,
    now: number,
  ): { stored: StoredEntry; freshness: Freshness } | undefined {
    const stored = this.#entries.get(key)
    if (!stored) return undefined
    const freshness = freshnessAt(stored.meta, now)
    if (!freshness || !this.#stillValid(state, this.#generation, stored.meta.stamp, stored.meta.tags)) {
      this.#remove(key)
      return undefined
    }
    this.#entries.delete(key)
    this.#entries.set(key, stored)
    return { stored, freshness }
  }

  #remove(key: string): void {
    const stored = this.#entries.get(key)
    if (!stored) return
    this.#entries.delete(key)
    this.#account(this.#tenant(stored.tenant), stored.meta.kind, -1, -stored.bytes, stored.owner)
  }

  #account(state: TenantState, kind: string, keys: number, bytes: number, owner: string | undefined): void {
    state.bytes += bytes
    if (owner !== undefined) {
      const held = (state.owners.get(owner) ?? 0) + bytes
      if (held > 0) state.owners.set(owner, held)
      else state.owners.delete(owner)
    }
    let s = state.byKind.get(kind)
    if (!s) {
      s = { keys: 0, bytes: 0 }
      state.byKind.set(kind, s)
    }
    s.keys += keys
    s.bytes += bytes
    this.#bytes += bytes
  }

  /** The budgets: only this tenant's (this owner's) least recently used entries go, never `keep`. */
  #evictOver(tenant: string, state: TenantState, owner: string | undefined, keep: string): void {
    const ownerOver = () => owner !== undefined && (state.owners.get(owner) ?? 0) > this.#ownerMaxBytes
    if (state.bytes <= this.#tenantMaxBytes && !ownerOver()) return
    for (const [key, stored] of this.#entries) {
      const tenantOver = state.bytes > this.#tenantMaxBytes
      if (!tenantOver && !ownerOver()) return
      if (key === keep || stored.tenant !== tenant) continue
      if (tenantOver || stored.owner === owner) this.#remove(key)
    }
  }

  #evict(): void {
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) return
      this.#remove(key)
    }
  }

  #purgeExpired(): void {
    const now = this.#now()
    for (const [key, stored] of this.#entries) if (!freshnessAt(stored.meta, now)) this.#remove(key)
  }

  #acquire(key: string, token: string, ttlMs: number, now: number): LeaseState {
    const held = this.#leases.get(key)
    if (held && held.expiresAt > now && held.token !== token) return 'held'
    if (!held && this.#leases.size >= MAX_LEASES) {
      for (const [k, l] of this.#leases) if (l.expiresAt <= now) this.#leases.delete(k)
    }
    this.#leases.set(key, { token, expiresAt: now + ttlMs })
    return 'acquired'
  }

  #release(key: string, token: string): void {
    if (this.#leases.get(key)?.token === token) this.#leases.delete(key)
  }
}
