// The store interface shared by the Redis and the in-memory stores, and the
// validity rule both implement:
//
//   every tag has a version (missing = 0) and every tenant a sequence `seq`;
//   bump(tags) sets seq := seq + 1 and each tag's version := seq (versions only grow);
//   a computation takes stamp = seq BEFORE it reads any data;
//   an entry stored with (stamp, tags) is valid iff version(t) <= stamp for every
//   tag t and for the implicit tenant-wide tag.
//
// A slow reader that took stamp s and stores after a writer bumped a tag it read
// (version s' > s) stores an entry that is refused, or never served: version > stamp.
// The `generation` names one life of the store's data: if Redis loses its data,
// the sequence restarts, so stamps from the previous life are refused.
import type { TenantId } from './keys.js'

/** Taken before reading data; only the store that issued it can interpret it. */
export interface Stamp {
  readonly tenant: string
  readonly generation: string
  readonly seq: number
}

/** Everything about an entry except its body. Times are ms since the epoch (store clock). */
export interface EntryMeta {
  /** Strong validator, quoted (`"…"`). */
  etag: string
  generatedAt: number
  kind: string
  storedAt: number
  freshUntil: number
  staleWhileRevalidateUntil: number
  staleIfErrorUntil: number
  /** Stamp sequence the entry was computed under. */
  stamp: number
  tags: readonly string[]
}

export interface Entry extends EntryMeta {
  /** The exact response bytes. */
  body: Buffer
}

export interface EntryInput {
  body: Buffer
  etag: string
  generatedAt: number
  kind: string
  /** Tags the computation read (and fixed ones), without the implicit tenant-wide tag. */
  tags: readonly string[]
  ttlMs: number
  staleWhileRevalidateMs: number
  staleIfErrorMs: number
  /**
   * Whose request stored the entry (e.g. a user id): counted against that
   * owner's byte budget as well as the tenant's. Absent: the tenant's only.
   */
  owner?: string
}

/**
 * Byte budgets (bodies plus bookkeeping, as the statistics count them). A set
 * that takes a tenant or an owner over its budget evicts that tenant's (or that
 * owner's) oldest entries, never another's; an entry larger than a budget is
 * `too-large`.
 */
export interface StoreBudgets {
  tenantMaxBytes?: number
  ownerMaxBytes?: number
}

/** One invalidation-log record for a store: its log sequence and the tag it touched. */
export interface AppliedRecord {
  seq: number
  tag: string
}

export type Freshness = 'fresh' | 'stale-while-revalidate' | 'stale-if-error'

/** `acquired`: this caller should compute; `held`: another caller is computing; `none`: not asked. */
export type LeaseState = 'none' | 'acquired' | 'held'

export interface GetOptions {
  /**
   * Opaque tags from If-None-Match (quotes kept, `W/` dropped: RFC 9110 §13.1.2 uses
   * weak comparison) or `*`. When the valid entry's ETag matches and the entry may
   * be served (fresh or within stale-while-revalidate), only its metadata comes back.
   */
  ifNoneMatch?: readonly string[] | '*'
  /** Keys of small auxiliary values validated and returned in the same round trip (fresh only). */
  also?: readonly string[]
  /**
   * ETags the caller already holds for the `also` values (same order): a value
   * whose ETag is unchanged comes back with an empty body (Redis does not send it).
   */
  alsoEtags?: readonly (string | undefined)[]
  /** Ask for the fill lease when the entry is missing or stale. */
  lease?: { token: string; ttlMs: number }
}

export type MainResult =
  | { status: 'miss' }
  | { status: 'hit'; entry: Entry }
  | { status: 'stale'; entry: Entry; freshness: 'stale-while-revalidate' | 'stale-if-error' }
  | { status: 'not-modified'; meta: EntryMeta; freshness: 'fresh' | 'stale-while-revalidate' }

export interface AuxValue {
  /** The value's bytes; may be empty when `etag` equals the one the caller holds (not sent). */
  body: Buffer
  /** Strong validator of the value's bytes, as stored. */
  etag: string
  generatedAt: number
}

/** What a confirmed copy answers a HIT with. */
export type ConfirmedCopy = Pick<Entry, 'body' | 'etag' | 'generatedAt'>

export type GetResult = MainResult & {
  /** Current stamp of the tenant, taken in the same round trip (valid for a computation that follows). */
  stamp: Stamp
  lease: LeaseState
  /** One element per `also` key: the value if present, valid and fresh. */
  also: (AuxValue | undefined)[]
}

/** `refused`: a tag moved past the stamp (or the data's generation changed); `too-large`: above maxEntryBytes; `skipped`: nothing to keep (ttl and stale windows 0). */
export type SetOutcome = 'stored' | 'refused' | 'too-large' | 'skipped'

export interface KindStats {
  keys: number
  bytes: number
}

export interface StoreStats extends KindStats {
  byKind: Record<string, KindStats>
}

export type StoreHealth = 'operational' | 'degraded'

export interface CacheStore {
  readonly backend: 'memory' | 'redis'
  /** Entries above this many body bytes are not stored (the caller serves them uncached). */
  readonly maxEntryBytes: number
  /** One round trip: the entry (or only its metadata on an If-None-Match match), the stamp, the lease, the aux values. */
  get(tenantId: TenantId, key: string, options?: GetOptions): Promise<GetResult>
  /**
   * The same read answered synchronously, for a store in this process (memory):
   * the cache's hit path then runs without a promise. Absent on remote stores.
   */
  peek?(tenantId: TenantId, key: string, options?: GetOptions): GetResult
  /**
   * The hit path's read on a remote store that keeps copies of recently served
   * bodies in this process: the copy of `key`, confirmed in one round trip that
   * moves no body (the entry is fresh, valid and has the copy's ETag; every
   * `also` key is fresh with the ETag in `alsoEtags`). Resolves undefined when
   * the store does not confirm (the caller reads with `get`). Returns undefined
   * at once, with no round trip, when there is no copy or the store cannot be
   * asked now (the caller reads with `get`, which says why).
   */
  confirmCopy?(
    tenantId: TenantId,
    key: string,
    also: readonly string[],
    alsoEtags: readonly string[],
  ): Promise<ConfirmedCopy | undefined> | undefined
  stamp(tenantId: TenantId): Promise<Stamp>
  /** Stores unless a tag moved past the stamp; releases `releaseLease` (a token) in the same round trip. */
  set(
    tenantId: TenantId,
    key: string,
    stamp: Stamp,
    entry: EntryInput,
    options?: { releaseLease?: string },
  ): Promise<SetOutcome>
  /** Advances the tags' versions past every stamp handed out so far; returns the new version. */
  bump(tenantId: TenantId, tags: readonly string[]): Promise<number>
  /** Invalidates every entry of the tenant with one version bump. */
  bumpTenant(tenantId: TenantId): Promise<number>
  /**
   * Delivers invalidation-log records: bumps the tags (TENANT_WIDE_TAG allowed) of
   * the records not applied before, so a second delivery moves nothing. Returns
   * false when every record was applied before. The store remembers recent
   * records only: an older one delivered again is one more (harmless) bump.
   * `position` (see `position`) is where the source of truth stood once the
   * records were committed: the tenant's position moves up to it.
   */
  apply(tenantId: TenantId, records: readonly AppliedRecord[], position?: string): Promise<boolean>
  /**
   * The position of the source of truth (an opaque, fixed-width string ordered
   * like its bytes, e.g. a Postgres WAL LSN) that a copy of it (a read replica)
   * must have reached before a computation under `stamp` may read the copy:
   * every change whose invalidation the stamp covers was committed at or below
   * it. Undefined when the store does not know (a new generation: its data may
   * have lost deliveries); then the caller asks the source and `confirmPosition`s.
   */
  position(tenantId: TenantId, stamp: Stamp): Promise<string | undefined>
  /**
   * Records `position`, read from the source after `stamp` was taken, as the
   * tenant's position of the stamp's generation (ignored when the generation moved on).
   */
  confirmPosition(tenantId: TenantId, stamp: Stamp, position: string): Promise<void>
  /** Invalidates every entry and stamp of every tenant (for records it can no longer replay). */
  reset(): Promise<void>
  releaseLease(tenantId: TenantId, key: string, token: string): Promise<void>
  /** Live entries by kind (counters kept on write; expired entries are reclaimed with a budget). */
  stats(tenantId: TenantId): Promise<StoreStats>
  /** Approximate number of stored entries of the tenant whose key starts with `keyPrefix`. */
  countEntries(tenantId: TenantId, keyPrefix?: string): Promise<number>
  health(): StoreHealth
  /** The circuit breaker in front of a remote store (absent: none, as closed). */
  breakerState?(): 'closed' | 'half-open' | 'open'
  /** Invalidations not yet delivered to a remote store (absent: none). */
  pendingInvalidations?(): number
  close(): Promise<void>
}

/** The store cannot answer (connection down, timeout, open circuit, unflushed invalidations). */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoreUnavailableError'
  }
}

/** Freshness of an entry at `now`, or undefined when it is past every window. */
export function freshnessAt(meta: EntryMeta, now: number): Freshness | undefined {
  if (now < meta.freshUntil) return 'fresh'
  if (now < meta.staleWhileRevalidateUntil) return 'stale-while-revalidate'
  if (now < meta.staleIfErrorUntil) return 'stale-if-error'
  return undefined
}

/** Whether an If-None-Match list (opaque tags) or `*` matches an entry's ETag. */
export function ifNoneMatchHits(ifNoneMatch: readonly string[] | '*' | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  if (ifNoneMatch === '*') return true
  return ifNoneMatch.includes(etag)
}
