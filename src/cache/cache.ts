// The get-or-compute orchestrator over a CacheStore: one store round trip per
// request (entry or 304 metadata, stamp, fill lease and auxiliary values together),
// coalesced computations in a process and across processes, stale-while-revalidate
// and stale-if-error, and a store that fails is skipped (BYPASS), never surfaced.
import { randomUUID } from 'node:crypto'
import { cacheEventsObserved, publishCacheEvent } from './cache-events.js'
import { InFlight, pollUntil } from './coalesce.js'
import { type Conditions, isNotModified, storeConditions } from './conditional.js'
import { strongEtag } from './http.js'
import { assertKind, assertTags, normaliseTags, type TenantId } from './keys.js'
import { CacheCounters, type CacheResult } from './stats.js'
import type {
  AppliedRecord,
  AuxValue,
  CacheStore,
  Entry,
  GetResult,
  LeaseState,
  Stamp,
  StoreHealth,
  StoreStats,
} from './store.js'

/** Seconds; the server-side part of a CachePolicy (policy.ts). */
export interface EntryPolicy {
  ttl: number
  staleWhileRevalidate: number
  staleIfError: number
}

export interface ComputedBody {
  /** The exact response bytes. */
  body: Buffer
  /** What the computation read (besides the request's fixed tags). */
  tags: readonly string[]
  /** Strong, quoted; computed from the body when absent. */
  etag?: string
  /** Defaults to the time the computation finished. */
  generatedAt?: number
}

export interface GetOrComputeRequest {
  tenantId: TenantId
  key: string
  /** Statistics label, e.g. the report type. */
  kind: string
  /** Tags known before computing (e.g. `tenant:1`, `report:42`). */
  tags?: readonly string[]
  policy: EntryPolicy
  /** Raw If-None-Match header. */
  ifNoneMatch?: string | readonly string[]
  /** Raw If-Modified-Since header (used only without If-None-Match, RFC 9110 §13.2.2). */
  ifModifiedSince?: string
  /** Auxiliary keys fetched in the same round trip and handed to `authorize`. */
  also?: readonly string[]
  /** ETags the caller holds for the `also` values: unchanged ones are not sent again. */
  alsoEtags?: readonly (string | undefined)[]
  /**
   * Runs before anything is served or computed, with the `also` values (undefined
   * where missing or when the store is unavailable: `confirmed` false). Throw to refuse the request.
   */
  authorize?: (also: readonly (AuxValue | undefined)[], confirmed: boolean) => void | Promise<void>
  /**
   * Computes the body. `stamp` is the stamp it will be stored under (undefined:
   * it will not be stored, e.g. BYPASS); a computation that reads a copy of the
   * data (a read replica) checks the copy against `position(stamp)` first.
   */
  compute: (stamp: Stamp | undefined) => Promise<ComputedBody>
  /** Whose request this is (a user id): the entry counts against that owner's byte budget. */
  owner?: string
  /** Shared by the cache calls of one request (see CacheSession). */
  session?: CacheSession
  /** A read made to fill the cache, not a client's (published as such, cache-events.ts). */
  warming?: boolean
}

/**
 * The cache calls of one request: once the store failed, the rest of the
 * request skips it, so a request waits on a stuck store at most once (one
 * command timeout), never once per step.
 */
export interface CacheSession {
  storeFailed: boolean
}

/** A read that only a fresh HIT (or its 304) of an existing entry may answer; see serveHit. */
export interface HitQuery {
  tenantId: TenantId
  key: string
  kind: string
  also: readonly string[]
  /** The `also` values' ETags the caller holds: each must be unchanged. */
  alsoEtags: readonly string[]
}

/** serveHit: the answer, `undefined` (take getOrCompute), or `unavailable` (the store failed: do not wait on it again). */
export type HitAnswer = CacheOutcome | undefined | 'unavailable'

export type XCache = 'HIT' | 'MISS' | 'BYPASS' | 'STALE'

export interface CacheOutcome {
  /** The request's kind (statistics label, e.g. the report type). */
  kind: string
  result: CacheResult
  /** The X-Cache value: coalesced waiters waited for a computation, so MISS. */
  xCache: XCache
  /**
   * The request's If-None-Match matched: answer 304. With result `not-modified`
   * the body was never moved from the store; otherwise it is still present.
   */
  notModified: boolean
  body: Buffer | undefined
  etag: string
  generatedAt: number
}

export interface InvalidationOutcome {
  /** False when the store could not be reached; the store keeps the bump and re-sends it. */
  delivered: boolean
  version?: number
}

export interface TaggedCacheOptions {
  store: CacheStore
  counters?: CacheCounters
  /** Bodies above this size are served uncached (BYPASS). Default: the store's limit. */
  maxEntryBytes?: number
  /** Fill lease lifetime: how long other processes wait for one computation. Default 10 s. */
  leaseMs?: number
  /** How long a waiter polls for another process's result before computing itself. Default 5 s. */
  waitMs?: number
  /** Store failures and background refresh failures (never thrown to callers). */
  onError?: (err: unknown, context: { operation: string; tenantId: TenantId; key?: string }) => void
}

interface Filled {
  body: Buffer
  etag: string
  generatedAt: number
  source: 'miss' | 'coalesced' | 'bypass'
}

type Waited =
  | { kind: 'entry'; entry: Entry }
  | { kind: 'acquired'; stamp: Stamp }
  | { kind: 'gave-up'; stamp: Stamp | undefined }

const X_CACHE: Record<CacheResult, XCache> = {
  hit: 'HIT',
  miss: 'MISS',
  coalesced: 'MISS',
  bypass: 'BYPASS',
  stale: 'STALE',
  'not-modified': 'HIT',
}

function isProgrammingError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof RangeError
}

/** A later caller may share a running computation only if it started from a stamp at least as new. */
function canJoin(mine: Stamp): (running: Stamp) => boolean {
  return (running) => running.generation === mine.generation && running.seq >= mine.seq
}

export class TaggedCache {
  readonly store: CacheStore
  readonly counters: CacheCounters
  readonly #maxEntryBytes: number
  readonly #leaseMs: number
  readonly #waitMs: number
  readonly #onError: NonNullable<TaggedCacheOptions['onError']>
  readonly #flights = new InFlight<Filled, Stamp>()
  readonly #background = new Set<Promise<void>>()

  constructor(options: TaggedCacheOptions) {
    this.store = options.store
    this.counters = options.counters ?? new CacheCounters()
    this.#maxEntryBytes = Math.min(
      options.maxEntryBytes ?? Number.POSITIVE_INFINITY,
      this.store.maxEntryBytes,
    )
    this.#leaseMs = options.leaseMs ?? 10_000
    this.#waitMs = options.waitMs ?? 5_000
    this.#onError = options.onError ?? (() => {})
  }

  /**
   * Serves `key` from the store when valid, else computes it once (per process and
   * across processes) and stores it under the stamp taken before computing.
   * Throws only what `authorize` or `compute` throw (and programming errors).
   */
  async getOrCompute(req: GetOrComputeRequest): Promise<CacheOutcome> {
    assertKind(req.kind)
    assertTags(req.tags ?? [])
    const conditions = storeConditions(req.ifNoneMatch, req.ifModifiedSince)
    if (req.session?.storeFailed) return this.#bypass(req, conditions)
    const token = randomUUID()
    let found: GetResult
    try {
      found = await this.store.get(req.tenantId, req.key, {
        ifNoneMatch: conditions.ifNoneMatch,
        also: req.also,
        alsoEtags: req.alsoEtags,
        lease: { token, ttlMs: this.#leaseMs },
      })
    } catch (err) {
      if (isProgrammingError(err)) throw err
      this.#storeError(err, 'get', req)
      if (req.session) req.session.storeFailed = true
      return this.#bypass(req, conditions)
    }
    try {
      await req.authorize?.(found.also, true)
    } catch (err) {
      if (found.lease === 'acquired') this.#release(req, token)
      throw err
    }
    switch (found.status) {
      case 'not-modified': {
        if (found.freshness === 'stale-while-revalidate') this.#refreshInBackground(req, found, token)
        const { etag, generatedAt } = found.meta
        this.#record(req, 'not-modified', true)
        const xCache = found.freshness === 'fresh' ? 'HIT' : 'STALE'
        return {
          kind: req.kind,
          result: 'not-modified',
          xCache,
          notModified: true,
          body: undefined,
          etag,
          generatedAt,
        }
      }
      case 'hit':
        return this.#served(req, 'hit', found.entry, conditions)
      case 'stale':
        if (found.freshness === 'stale-while-revalidate') {
          this.#refreshInBackground(req, found, token)
          return this.#served(req, 'stale', found.entry, conditions)
        }
        return this.#computeShared(req, found, token, conditions, found.entry)
      case 'miss':
        return this.#computeShared(req, found, token, conditions, undefined)
    }
  }

  /**
   * The hit path, one store read and nothing else: a fresh entry (or its 304)
   * whose `also` values all still have the caller's ETags. Anything else
   * (miss, stale, a changed value) is `undefined`: the caller goes through
   * getOrCompute. Answers synchronously when the store can (memory).
   */
  serveHit(
    q: HitQuery,
    ifNoneMatch: string | undefined,
    ifModifiedSince: string | undefined,
  ): HitAnswer | Promise<HitAnswer> {
    const conditions = storeConditions(ifNoneMatch, ifModifiedSince)
    const { also, alsoEtags } = q
    if (this.store.peek) {
      const found = this.store.peek(q.tenantId, q.key, {
        ifNoneMatch: conditions.ifNoneMatch,
        also,
        alsoEtags,
      })
      return this.#hitOf(q, found, conditions)
    }
    const failed = (err: unknown): 'unavailable' => {
      if (isProgrammingError(err)) throw err
      this.#storeError(err, 'get', q)
      return 'unavailable'
    }
    // A remote store with this process's copy of the body: confirmed without moving it.
    const confirming = this.store.confirmCopy?.(q.tenantId, q.key, also, alsoEtags)
    if (confirming) {
      return confirming.then((copy) => {
        if (!copy) return undefined
        // Counted as the store path counts it: a client's match is a 304 of a HIT.
        const result = isNotModified(conditions, copy.etag, copy.generatedAt) ? 'not-modified' : 'hit'
        return this.#served(q, result, copy, conditions)
      }, failed)
    }
    return this.store
      .get(q.tenantId, q.key, { ifNoneMatch: conditions.ifNoneMatch, also, alsoEtags })
      .then((found) => this.#hitOf(q, found, conditions), failed)
  }

  #hitOf(q: HitQuery, found: GetResult, conditions: Conditions): HitAnswer {
    const { also, alsoEtags } = q
    for (let i = 0; i < also.length; i++) if (found.also[i]?.etag !== alsoEtags[i]) return undefined
    if (found.status === 'hit') return this.#served(q, 'hit', found.entry, conditions)
    if (found.status === 'not-modified' && found.freshness === 'fresh') {
      this.#record(q, 'not-modified', true)
      const { etag, generatedAt } = found.meta
      return {
        kind: q.kind,
        result: 'not-modified',
        xCache: 'HIT',
        notModified: true,
        body: undefined,
        etag,
        generatedAt,
      }
    }
    return undefined
  }

  /**
   * Advances the tags' versions: every entry that read one of them stops being
   * served, on every instance. Call after the change commits, before responding.
   */
  async invalidate(tenantId: TenantId, tags: readonly string[]): Promise<InvalidationOutcome> {
    assertTags(tags)
    if (tags.length === 0) return { delivered: true }
    return this.#invalidation(tenantId, () => this.store.bump(tenantId, tags))
  }

  /**
   * Delivers invalidation-log records (idempotent: records the store applied
   * before move nothing). `tags` may hold the tenant-wide tag.
   */
  async deliver(
    tenantId: TenantId,
    records: readonly AppliedRecord[],
    position?: string,
  ): Promise<InvalidationOutcome> {
    return this.#invalidation(tenantId, async () =>
      (await this.store.apply(tenantId, records, position)) ? 1 : 0,
    )
  }

  /** The store's position for computations under `stamp` (store.ts); undefined when unknown or unavailable. */
  async position(tenantId: TenantId, stamp: Stamp): Promise<string | undefined> {
    try {
      return await this.store.position(tenantId, stamp)
    } catch (err) {
      if (isProgrammingError(err)) throw err
      this.#storeError(err, 'position', { tenantId })
      return undefined
    }
  }

  /** Records a position read from the source after `stamp` (store.ts); a failure only costs a later re-read. */
  async confirmPosition(tenantId: TenantId, stamp: Stamp, position: string): Promise<void> {
    try {
      await this.store.confirmPosition(tenantId, stamp, position)
    } catch (err) {
      if (isProgrammingError(err)) throw err
      this.#storeError(err, 'confirm-position', { tenantId })
    }
  }

  /** Invalidates every entry of every tenant; throws when the store cannot be reached. */
  async reset(): Promise<void> {
    this.counters.count('invalidations')
    await this.store.reset()
  }

  /** Invalidates every entry of the tenant with one version bump (the CLI on an embedded database; else the log does). */
  async invalidateTenant(tenantId: TenantId): Promise<InvalidationOutcome> {
    return this.#invalidation(tenantId, () => this.store.bumpTenant(tenantId))
  }

  /**
   * Computes and stores a small auxiliary value (e.g. a viewer's access set) under a
   * stamp taken before `compute` reads anything, so it obeys the same invalidations.
   * Read it back through `also` of getOrCompute (same round trip as the entry).
   */
  async computeValue(req: {
    tenantId: TenantId
    key: string
    kind?: string
    tags?: readonly string[]
    ttlSeconds: number
    compute: () => Promise<{ value: Buffer; tags: readonly string[] }>
    /** As in GetOrComputeRequest: whose byte budget the value counts against. */
    owner?: string
    session?: CacheSession
  }): Promise<Buffer> {
    const kind = req.kind ?? 'aux'
    assertKind(kind)
    let stamp: Stamp | undefined
    if (!req.session?.storeFailed) {
      try {
        stamp = await this.store.stamp(req.tenantId)
      } catch (err) {
        if (isProgrammingError(err)) throw err
        this.#storeError(err, 'stamp', req)
        if (req.session) req.session.storeFailed = true
      }
    }
    const computed = await req.compute()
    const tags = normaliseTags([...(req.tags ?? []), ...computed.tags])
    assertTags(tags)
    if (stamp) {
      try {
        await this.store.set(req.tenantId, req.key, stamp, {
          body: computed.value,
          etag: strongEtag(computed.value),
          generatedAt: Date.now(),
          kind,
          tags,
          ttlMs: req.ttlSeconds * 1000,
          staleWhileRevalidateMs: 0,
          staleIfErrorMs: 0,
          owner: req.owner,
        })
      } catch (err) {
        if (isProgrammingError(err)) throw err
        this.#storeError(err, 'set', req)
        if (req.session) req.session.storeFailed = true
      }
    }
    return computed.value
  }

  /** The store's statistics for a tenant; undefined when the store is unavailable. */
  async storeStats(tenantId: TenantId): Promise<StoreStats | undefined> {
    try {
      return await this.store.stats(tenantId)
    } catch (err) {
      if (isProgrammingError(err)) throw err
      this.#storeError(err, 'stats', { tenantId })
      return undefined
    }
  }

  /** Live entries of the tenant whose key starts with `keyPrefix`; undefined when unavailable. */
  async countEntries(tenantId: TenantId, keyPrefix?: string): Promise<number | undefined> {
    try {
      return await this.store.countEntries(tenantId, keyPrefix)
    } catch (err) {
      if (isProgrammingError(err)) throw err
      this.#storeError(err, 'count', { tenantId })
      return undefined
    }
  }

  health(): StoreHealth {
    return this.store.health()
  }

  /** Computations running in this process (foreground and background). */
  get inFlight(): number {
    return this.#flights.size
  }

  /** Resolves when every background refresh started so far has finished. */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.all([...this.#background])
  }

  async #invalidation(tenantId: TenantId, bump: () => Promise<number>): Promise<InvalidationOutcome> {
    this.counters.count('invalidations')
    try {
      return { delivered: true, version: await bump() }
    } catch (err) {
      if (isProgrammingError(err)) throw err
      this.counters.count('failedInvalidations')
      this.#storeError(err, 'bump', { tenantId })
      return { delivered: false }
    }
  }

  async #bypass(req: GetOrComputeRequest, conditions: Conditions): Promise<CacheOutcome> {
    await req.authorize?.(
      (req.also ?? []).map(() => undefined),
      false,
    )
    const computed = await this.#compute(req, undefined)
    const etag = computed.etag ?? strongEtag(computed.body)
    const generatedAt = computed.generatedAt ?? Date.now()
    const notModified = isNotModified(conditions, etag, generatedAt)
    this.#record(req, 'bypass', notModified, computed.body.length)
    return {
      kind: req.kind,
      result: 'bypass',
      xCache: 'BYPASS',
      notModified,
      body: computed.body,
      etag,
      generatedAt,
    }
  }

  #served(
    req: Pick<GetOrComputeRequest, 'tenantId' | 'key' | 'kind' | 'warming'>,
    result: CacheResult,
    filled: { body: Buffer; etag: string; generatedAt: number },
    conditions: Conditions,
  ): CacheOutcome {
    const notModified = isNotModified(conditions, filled.etag, filled.generatedAt)
    this.#record(req, result, notModified, filled.body.length)
    return {
      kind: req.kind,
      result,
      xCache: X_CACHE[result],
      notModified,
      body: filled.body,
      etag: filled.etag,
      generatedAt: filled.generatedAt,
    }
  }

  /** Miss or stale-if-error: join or start the computation; on its failure serve `fallback`. */
  async #computeShared(
    req: GetOrComputeRequest,
    found: GetResult,
    token: string,
    conditions: Conditions,
    fallback: Entry | undefined,
  ): Promise<CacheOutcome> {
    const flight = this.#flights.run(req.key, found.stamp, canJoin(found.stamp), () =>
      this.#fill(req, found.stamp, found.lease, token),
    )
    if (flight.joined && found.lease === 'acquired') this.#release(req, token)
    try {
      const filled = await flight.promise
      return this.#served(req, flight.joined ? 'coalesced' : filled.source, filled, conditions)
    } catch (err) {
      if (fallback) return this.#served(req, 'stale', fallback, conditions)
      throw err
    }
  }

  #refreshInBackground(req: GetOrComputeRequest, found: GetResult, token: string): void {
    // Without the lease another caller (here or in another process) is refreshing.
    if (found.lease !== 'acquired') return
    const flight = this.#flights.run(req.key, found.stamp, canJoin(found.stamp), () =>
      this.#fill(req, found.stamp, 'acquired', token),
    )
    if (flight.joined) {
      this.#release(req, token)
      return
    }
    const done: Promise<void> = flight.promise.then(
      () => {},
      (err) => {
        this.counters.count('refreshErrors')
        this.#onError(err, { operation: 'refresh', tenantId: req.tenantId, key: req.key })
      },
    )
    this.#background.add(done)
    void done.finally(() => this.#background.delete(done))
  }

  /** Waits for another process's computation if it holds the lease, else computes and stores. */
  async #fill(req: GetOrComputeRequest, stamp: Stamp, lease: LeaseState, token: string): Promise<Filled> {
    let current: Stamp | undefined = stamp
    let holding = lease === 'acquired'
    if (lease === 'held') {
      const waited = await this.#waitForOther(req, token)
      if (waited.kind === 'entry') return { ...waited.entry, source: 'coalesced' }
      current = waited.stamp
      holding = waited.kind === 'acquired'
    }
    let computed: ComputedBody
    let tags: string[]
    try {
      computed = await this.#compute(req, current)
      tags = normaliseTags([...(req.tags ?? []), ...computed.tags])
      assertTags(tags)
    } catch (err) {
      if (holding) this.#release(req, token)
      throw err
    }
    const etag = computed.etag ?? strongEtag(computed.body)
    const generatedAt = computed.generatedAt ?? Date.now()
    const filled: Filled = { body: computed.body, etag, generatedAt, source: 'miss' }
    const { ttl, staleWhileRevalidate, staleIfError } = req.policy
    const tooLarge = computed.body.length > this.#maxEntryBytes
    if (tooLarge) this.counters.count('oversize')
    if (tooLarge || (ttl <= 0 && staleWhileRevalidate <= 0 && staleIfError <= 0)) {
      if (holding) this.#release(req, token)
      return { ...filled, source: 'bypass' }
    }
    if (!current) return filled
    try {
      const outcome = await this.store.set(
        req.tenantId,
        req.key,
        current,
        {
          body: computed.body,
          etag,
          generatedAt,
          kind: req.kind,
          tags,
          ttlMs: ttl * 1000,
          staleWhileRevalidateMs: staleWhileRevalidate * 1000,
          staleIfErrorMs: staleIfError * 1000,
          owner: req.owner,
        },
        { releaseLease: holding ? token : undefined },
      )
      if (outcome === 'refused') this.counters.count('refusedWrites')
    } catch (err) {
      if (isProgrammingError(err)) throw err
      this.#storeError(err, 'set', req)
    }
    return filled
  }

  /** Polls the store while another caller holds the lease; stops at an entry, the lease, or the deadline. */
  async #waitForOther(req: GetOrComputeRequest, token: string): Promise<Waited> {
    let last: Stamp | undefined
    const waited = await pollUntil<Waited>(
      async () => {
        let r: GetResult
        try {
          r = await this.store.get(req.tenantId, req.key, { lease: { token, ttlMs: this.#leaseMs } })
        } catch (err) {
          if (isProgrammingError(err)) throw err
          this.#storeError(err, 'get', req)
          return { kind: 'gave-up', stamp: undefined }
        }
        last = r.stamp
        if (r.status === 'hit') return { kind: 'entry', entry: r.entry }
        if (r.lease === 'acquired') return { kind: 'acquired', stamp: r.stamp }
        return undefined
      },
      { deadline: Date.now() + this.#waitMs },
    )
    return waited ?? { kind: 'gave-up', stamp: last }
  }

  #release(req: GetOrComputeRequest, token: string): void {
    this.store.releaseLease(req.tenantId, req.key, token).catch((err: unknown) => {
      this.#storeError(err, 'release', req)
    })
  }

  async #compute(req: GetOrComputeRequest, stamp: Stamp | undefined): Promise<ComputedBody> {
    const started = performance.now()
    let ok = false
    try {
      const computed = await req.compute(stamp)
      ok = true
      return computed
    } finally {
      if (cacheEventsObserved()) {
        publishCacheEvent({
          type: 'compute',
          source: this,
          tenantId: req.tenantId,
          key: req.key,
          kind: req.kind,
          seconds: (performance.now() - started) / 1000,
          ok,
        })
      }
    }
  }

  #record(
    req: Pick<GetOrComputeRequest, 'tenantId' | 'key' | 'kind' | 'warming'>,
    result: CacheResult,
    notModified: boolean,
    bytes?: number,
  ): void {
    if (cacheEventsObserved()) {
      publishCacheEvent({
        type: 'result',
        source: this,
        tenantId: req.tenantId,
        key: req.key,
        kind: req.kind,
        result,
        notModified,
        bytes,
        warming: req.warming === true,
      })
    }
  }

  #storeError(err: unknown, operation: string, ctx: { tenantId: TenantId; key?: string }): void {
    this.counters.count('storeErrors')
    this.#onError(err, { operation, tenantId: ctx.tenantId, key: ctx.key })
  }
}
