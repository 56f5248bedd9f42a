// Redis store: entries, tag versions, leases and statistics in Redis, one Lua
// script per operation (redis-scripts.ts). Failure behaviour:
// - commands time out quickly (client options below) and never queue offline;
// - a circuit breaker skips Redis entirely while it is failing;
// - a bump that fails is remembered (pending) and re-sent before this process
//   reads or writes anything again, and in the background until it lands; while
//   any bump is pending, get/set/stamp fail (the caller computes: BYPASS), so
//   no entry that the lost bump should have invalidated is served from here.
// Re-sending a bump is always safe: versions only grow and any new version is
// above every stamp handed out before, so entries stored before it are invalid.
import { randomUUID } from 'node:crypto'
import { Cluster, Redis } from 'ioredis'
import { BodyCopies, type BodyCopy } from './body-copies.js'
import { type BreakerOptions, CircuitBreaker } from './breaker.js'
import {
  assertKeyOfTenant,
  assertKind,
  assertTags,
  TENANT_WIDE_TAG,
  type TenantId,
  tenantPart,
} from './keys.js'
import {
  APPLY_SCRIPT,
  BUMP_SCRIPT,
  CONFIRM_POSITION_SCRIPT,
  GET_SCRIPT,
  HIT_SCRIPT,
  POSITION_SCRIPT,
  RELEASE_SCRIPT,
  SET_SCRIPT,
  STAMP_SCRIPT,
  STATS_SCRIPT,
  scriptSource,
} from './redis-scripts.js'
import {
  type AppliedRecord,
  type AuxValue,
  type CacheStore,
  type ConfirmedCopy,
  type Entry,
  type EntryInput,
  type EntryMeta,
  type GetOptions,
  type GetResult,
  ifNoneMatchHits,
  type KindStats,
  type LeaseState,
  type MainResult,
  type SetOutcome,
  type Stamp,
  type StoreBudgets,
  type StoreHealth,
  type StoreStats,
  StoreUnavailableError,
} from './store.js'

export interface RedisClientOptions {
  /** Per-command timeout. Default 250 ms. */
  commandTimeoutMs?: number
  /** Connection timeout. Default 1000 ms. */
  connectTimeoutMs?: number
  /** Longest wait between reconnection attempts. Default 500 ms. */
  maxReconnectDelayMs?: number
}

/**
 * An ioredis client suited to a cache: no offline queue (a command on a down
 * connection fails at once), no per-command retries, a short command timeout,
 * quick reconnection, and an error listener so connection errors never crash.
 */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? 500
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 250,
    connectTimeout: options.connectTimeoutMs ?? 1000,
    // Off: an auto-pipeline is a fresh Pipeline object per tick, and in a
    // loop of 600 commands/s its objects were promoted to the old generation
    // at 3x the rate of plain commands (3.3 vs 1.2 MB in 6 s), which a
    // service pays for in scavenges and compactions. Reads of one tenant in
    // one turn already share commands (#sendConfirmations), and hit
    // throughput did not drop without it (bench/README.md).
    enableAutoPipelining: false,
    retryStrategy: (times) => Math.min(times * 50, maxDelay),
  })
  client.on('error', () => {})
  return client
}

/** A standalone Redis or a Redis Cluster: the store and the hit-rate buckets work on either. */
export type RedisClient = Redis | Cluster

export interface ClusterNode {
  host: string
  port: number
}

/**
 * An ioredis Cluster client suited to a cache, like createRedisClient: no offline
 * queue, no retries that outlast the command timeout (a command on a failed
 * master fails at once: BYPASS, not a wait), and slots refreshed every second so
 * a promoted replica is found soon after an election. MOVED and ASK are followed
 * by ioredis.
 */
export function createRedisCluster(nodes: readonly ClusterNode[], options: RedisClientOptions = {}): Cluster {
  const maxDelay = options.maxReconnectDelayMs ?? 500
  const client = new Cluster(
    nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      enableOfflineQueue: false,
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      slotsRefreshTimeout: options.connectTimeoutMs ?? 1000,
      slotsRefreshInterval: 1000,
      clusterRetryStrategy: (times) => Math.min(times * 50, maxDelay),
      redisOptions: {
        maxRetriesPerRequest: 0,
        commandTimeout: options.commandTimeoutMs ?? 250,
        connectTimeout: options.connectTimeoutMs ?? 1000,
      },
    },
  )
  client.on('error', () => {})
  return client
}

export interface RedisStoreOptions extends StoreBudgets {
  /** Client from createRedisClient or createRedisCluster (or one configured the same way). */
  client: RedisClient
  /** Prefix of every key. Default `rc:`. */
  prefix?: string
  /** Larger bodies are not stored. Default 1 MiB. */
  maxEntryBytes?: number
  breaker?: CircuitBreaker | BreakerOptions
  /** Interval of the background retry of failed bumps. Default 200 ms. */
  flushIntervalMs?: number
  /** Expired entries whose statistics one write or stats call reclaims. Default 50. */
  reclaimBudget?: number
  /** Above this many pending tags, a tenant's pending bump becomes a tenant-wide one. Default 1000. */
  maxPendingTags?: number
  /** Quit the client on close(). Default false (its creator closes it). */
  closeClient?: boolean
  /** Called on every Redis failure (for logging and metrics). */
  onError?: (err: Error, operation: string) => void
  /**
   * Bytes of recently served bodies kept in this process (body-copies.ts): a
   * read whose entry still has the copy's ETag gets no body from Redis.
   * Default 64 MiB; 0 keeps none.
   */
  bodyCopyMaxBytes?: number
}

type Arg = string | number | Buffer

/** The KEYS of a read of one key with its `also` keys: GET's, and the entry and aux keys HIT checks. */
interface ReadKeys {
  tenant: string
  also: readonly string[]
  keys: readonly string[]
  hitKeys: readonly string[]
}

/** A confirmation in the next HIT script call of its tenant, which requests join until it is sent. */
interface PendingConfirm {
  copy: BodyCopy
  tenant: string
  /** The entry and aux keys, and the `also` keys with the ETags asked for them. */
  keys: readonly string[]
  also: readonly string[]
  alsoEtags: readonly string[]
  promise: Promise<ConfirmedCopy | undefined>
  resolve: (copy: ConfirmedCopy | undefined) => void
  reject: (err: unknown) => void
}
type ScriptFn = (numKeys: number, ...args: Arg[]) => Promise<unknown>
interface ScriptedClient {
  rcGetBuffer: ScriptFn
  rcHit: ScriptFn
  rcSet: ScriptFn
  rcBump: ScriptFn
  rcApply: ScriptFn
  rcStamp: ScriptFn
  rcStats: ScriptFn
  rcRelease: ScriptFn
  rcPosition: ScriptFn
  rcConfirmPosition: ScriptFn
}

const SCRIPTS: Record<string, string> = {
  rcGet: GET_SCRIPT,
  rcHit: HIT_SCRIPT,
  rcSet: SET_SCRIPT,
  rcBump: BUMP_SCRIPT,
  rcApply: APPLY_SCRIPT,
  rcStamp: STAMP_SCRIPT,
  rcStats: STATS_SCRIPT,
  rcRelease: RELEASE_SCRIPT,
  rcPosition: POSITION_SCRIPT,
  rcConfirmPosition: CONFIRM_POSITION_SCRIPT,
}

/**
 * Confirmations one HIT call carries at most. A script holds Redis while it
 * runs and its reply comes whole: at 64, the service waited for a whole
 * turn's answers at once and hit throughput fell ~8%; at 16 the calls of one
 * turn overlap the service's work, and Redis still spends ~30% less CPU per
 * hit than with one call per key (bench/README.md, "One HIT call per tenant and turn").
 */
const MAX_CONFIRMS_PER_CALL = 16

/** Recently applied log records remembered per tenant (older ones re-delivered cost one more bump). */
const APPLIED_RECORDS_KEPT = 10_000

const EVICTION_SAFE_POLICIES = [
  'noeviction',
  'volatile-lru',
  'volatile-lfu',
  'volatile-ttl',
  'volatile-random',
]

export class RedisStore implements CacheStore {
  readonly backend = 'redis' as const
  readonly maxEntryBytes: number
  readonly prefix: string
  readonly breaker: CircuitBreaker
  readonly #client: RedisClient
  /** In a cluster each script confirms its node (redis-scripts.ts); there is no one server to check. */
  readonly #cluster: boolean
  readonly #scripts: ScriptedClient
  readonly #flushIntervalMs: number
  readonly #reclaimBudget: number
  readonly #tenantMaxBytes: number
  readonly #ownerMaxBytes: number
  readonly #maxPendingTags: number
  readonly #closeClient: boolean
  readonly #onError: (err: Error, operation: string) => void
  /** Bumps that did not reach Redis, by tenant; `*` stands for the whole tenant. */
  readonly #pending = new Map<string, Set<string>>()
  #flushing: Promise<void> | undefined
  #flushTimer: NodeJS.Timeout | undefined
  #closed = false
  /** Connections made so far ('ready' events) and the last one whose server was checked. */
  #connection = 0
  #verifiedConnection = -1
  #verifying: Promise<void> | undefined
  readonly #copies: BodyCopies
  readonly #instance = randomUUID()
  readonly #tenantKeyMemo = new Map<string, readonly string[]>()
  readonly #tagPrefixMemo = new Map<string, string>()
  readonly #readKeyMemo = new Map<string, ReadKeys>()
  /** Confirmations of copies not yet sent (see confirmCopy), and the last one of each key, which others may join. */
  #toConfirm: PendingConfirm[] = []
  readonly #joinable = new Map<string, PendingConfirm>()
  #candidates = 0

  constructor(options: RedisStoreOptions) {
    this.#client = options.client
    this.prefix = options.prefix ?? 'rc:'
    if (/[*?[\]\\{}\s]/.test(this.prefix))
      throw new TypeError('redis store prefix must not contain glob, brace or space characters')
    this.maxEntryBytes = options.maxEntryBytes ?? 1024 * 1024
    this.breaker =
      options.breaker instanceof CircuitBreaker ? options.breaker : new CircuitBreaker(options.breaker)
    this.#flushIntervalMs = options.flushIntervalMs ?? 200
    this.#reclaimBudget = options.reclaimBudget ?? 50
    this.#tenantMaxBytes = options.tenantMaxBytes ?? Number.MAX_SAFE_INTEGER
    this.#ownerMaxBytes = options.ownerMaxBytes ?? Number.MAX_SAFE_INTEGER
    this.#maxPendingTags = options.maxPendingTags ?? 1000
    this.#closeClient = options.closeClient ?? false
    this.#onError = options.onError ?? (() => {})
    this.#copies = new BodyCopies(options.bodyCopyMaxBytes ?? 64 * 1024 * 1024)
    this.#cluster = this.#client instanceof Cluster
    for (const [name, lua] of Object.entries(SCRIPTS))
      this.#client.defineCommand(name, { lua: scriptSource(lua, this.#cluster) })
    this.#scripts = this.#client as unknown as ScriptedClient
    // Never crash on connection errors; the breaker and the callers' fallbacks handle them.
    this.#client.on('error', (err: Error) => this.#onError(err, 'connection'))
    // A new connection may reach a restarted server: check it before serving (#verifyServer).
    this.#client.on('ready', () => {
      this.#connection++
    })
  }

  async get(tenantId: TenantId, key: string, options: GetOptions = {}): Promise<GetResult> {
    const tenant = tenantPart(tenantId)
    const also = options.also ?? []
    const { keys } = this.#readKeys(tenantId, tenant, key, also)
    const inm = options.ifNoneMatch
    // Our copy's ETag joins the client's: a match answers without the body (then served from the copy).
    const copy = this.#copies.get(key)
    const tags = inm === '*' ? undefined : copy ? (inm ? [...inm, copy.etag] : [copy.etag]) : inm
    const argv: Arg[] = [...keys]
    argv.push(
      this.#tagPrefix(tenant),
      this.#candidateGeneration(),
      key,
      inm === '*' ? '*' : tags === undefined ? '' : 'l',
      tags === undefined ? '' : tags.length === 1 ? tags[0] : tags.join('\n'),
      options.lease?.token ?? '',
      Math.max(1, Math.ceil(options.lease?.ttlMs ?? 1)),
    )
    for (const auxKey of also) argv.push(auxKey)
    for (let i = 0; i < also.length; i++) argv.push(options.alsoEtags?.[i] ?? '')
    const found = await this.#gated('get', async () =>
      parseGet(await this.#scripts.rcGetBuffer(keys.length, ...argv), tenant, also.length),
    )
    return this.#withCopy(key, found, inm, copy?.body)
  }

  /**
   * The KEYS of a read, checked and built once per key and `also` (a hit sends
   * the same ones every time; flat strings are cheaper to write than new ones).
   */
  #readKeys(tenantId: TenantId, tenant: string, key: string, also: readonly string[]): ReadKeys {
    const known = this.#readKeyMemo.get(key)
    if (known && known.tenant === tenant && sameList(known.also, also)) return known
    assertKeyOfTenant(key, tenantId)
    for (const auxKey of also) assertKeyOfTenant(auxKey, tenantId)
    const entry = this.prefix + key
    const auxKeys = also.map((auxKey) => this.prefix + auxKey)
    const keys = [...this.#tenantKeys(tenant), this.prefix + 'lease:' + key, entry, ...auxKeys]
    const hitKeys = [entry, ...auxKeys]
    if (this.#readKeyMemo.size >= 10_000) this.#readKeyMemo.clear()
    const read = { tenant, also: [...also], keys, hitKeys }
    this.#readKeyMemo.set(key, read)
    return read
  }

  /**
   * Requests that arrive while a confirmation of the same copy (same key,
   * ETags and `also` keys) is waiting to be sent join it: it is sent after
   * every one of them arrived, so its answer is as recent as each one's own
   * would be (a change acknowledged before a request arrived is seen by it).
   * Once sent, nobody joins: a later request asks again. Sent from
   * setImmediate, i.e. after the I/O callbacks of one event-loop turn, with
   * the turn's other confirmations of the tenant in one script call.
   */
  confirmCopy(
    tenantId: TenantId,
    key: string,
    also: readonly string[],
    alsoEtags: readonly string[],
  ): Promise<ConfirmedCopy | undefined> | undefined {
    const copy = this.#copies.get(key)
    // Anything GET would have to act on first: a new connection to check, bumps to re-send.
    if (!copy || this.#pending.size > 0 || (!this.#cluster && this.#verifiedConnection !== this.#connection))
      return undefined
    for (let i = 0; i < also.length; i++) if (!alsoEtags[i]) return undefined
    const tenant = tenantPart(tenantId)
    const { hitKeys } = this.#readKeys(tenantId, tenant, key, also)
    const waiting = this.#joinable.get(key)
    if (waiting?.copy === copy && sameList(waiting.also, also) && sameList(waiting.alsoEtags, alsoEtags))
      return waiting.promise
    // Asked last, so that a half-open circuit's one probe is spent only on a call that is sent.
    if (!this.breaker.allowRequest()) return undefined
    let resolve!: PendingConfirm['resolve']
    let reject!: PendingConfirm['reject']
    const promise = new Promise<ConfirmedCopy | undefined>((res, rej) => {
      resolve = res
      reject = rej
    })
    const pending: PendingConfirm = {
      copy,
      tenant,
      keys: hitKeys,
      also,
      alsoEtags,
      promise,
      resolve,
      reject,
    }
    if (this.#toConfirm.length === 0) setImmediate(() => this.#sendConfirmations())
    this.#toConfirm.push(pending)
    this.#joinable.set(key, pending)
    return promise
  }

  #sendConfirmations(): void {
    const batch = this.#toConfirm
    this.#toConfirm = []
    this.#joinable.clear()
    // A connection made, or a bump lost, since they were asked: GET checks first.
    if (this.#pending.size > 0 || (!this.#cluster && this.#verifiedConnection !== this.#connection)) {
      for (const c of batch) c.resolve(undefined)
      return
    }
    // A quiet turn asks one: no grouping to allocate.
    if (batch.length === 1) {
      this.#confirm((batch[0] as PendingConfirm).tenant, batch)
      return
    }
    const byTenant = new Map<string, PendingConfirm[]>()
    for (const c of batch) {
      const group = byTenant.get(c.tenant)
      if (group) group.push(c)
      else byTenant.set(c.tenant, [c])
    }
    for (const [tenant, group] of byTenant) {
      if (group.length <= MAX_CONFIRMS_PER_CALL) this.#confirm(tenant, group)
      else
        for (let i = 0; i < group.length; i += MAX_CONFIRMS_PER_CALL)
          this.#confirm(tenant, group.slice(i, i + MAX_CONFIRMS_PER_CALL))
    }
  }

  /** One HIT call for confirmations of one tenant: its keys share the tenant's slot. */
  #confirm(tenant: string, group: readonly PendingConfirm[]): void {
    const [seq, , , , allTag] = this.#tenantKeys(tenant) as string[]
    const keys: string[] = [seq, allTag]
    const argv: string[] = [this.#tagPrefix(tenant)]
    for (const c of group) {
      for (const k of c.keys) keys.push(k)
      argv.push(String(c.keys.length), c.copy.etag)
      // Exactly one ETag per key: the script finds the next confirmation by the count.
      for (let i = 0; i < c.also.length; i++) argv.push(c.alsoEtags[i] as string)
    }
    this.#scripts.rcHit(keys.length, ...keys, ...argv).then(
      (reply) => {
        this.breaker.onSuccess()
        const answers = String(reply)
        for (let i = 0; i < group.length; i++) {
          const c = group[i] as PendingConfirm
          c.resolve(answers[i] === '1' ? c.copy : undefined)
        }
      },
      (err: unknown) => {
        this.breaker.onFailure()
        const unavailable = this.#unavailable(err, 'get')
        for (const c of group) c.reject(unavailable)
      },
    )
  }

  /** Serves a confirmed copy as the entry, and keeps the body of what came back. */
  #withCopy(
    key: string,
    found: GetResult,
    inm: GetOptions['ifNoneMatch'],
    copy: Buffer | undefined,
  ): GetResult {
    if (found.status === 'not-modified') {
      // Redis matched the copy's ETag, not the client's: the copy is the entry's body.
      if (copy && !ifNoneMatchHits(inm, found.meta.etag)) {
        const entry: Entry = { ...found.meta, body: copy }
        const { stamp, lease, also } = found
        return found.freshness === 'fresh'
          ? { status: 'hit', entry, stamp, lease, also }
          : { status: 'stale', entry, freshness: found.freshness, stamp, lease, also }
      }
      return found
    }
    if (found.status === 'miss') this.#copies.delete(key)
    else this.#copies.set(key, found.entry)
    return found
  }

  async stamp(tenantId: TenantId): Promise<Stamp> {
    const tenant = tenantPart(tenantId)
    const reply = await this.#gated('stamp', () =>
      this.#scripts.rcStamp(1, this.#seqKey(tenant), randomUUID()),
    )
    const [generation, seq] = reply as [string, string]
    return { tenant, generation, seq: Number(seq) }
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
    const release = options.releaseLease
    if (
      input.body.length > this.maxEntryBytes ||
      (input.ttlMs <= 0 && input.staleWhileRevalidateMs <= 0 && input.staleIfErrorMs <= 0)
    ) {
      if (release !== undefined) await this.releaseLease(tenantId, key, release)
      return input.body.length > this.maxEntryBytes ? 'too-large' : 'skipped'
    }
    const keys = [
      ...this.#tenantKeys(tenant),
      this.prefix + 'lease:' + key,
      this.prefix + key,
      ...input.tags.map((tag) => this.#tagPrefix(tenant) + tag),
    ]
    const args: Arg[] = [
      stamp.generation,
      stamp.seq,
      input.tags.join('\n'),
      input.body,
      input.etag,
      Math.round(input.generatedAt),
      input.kind,
      Math.max(0, Math.round(input.ttlMs)),
      Math.max(0, Math.round(input.staleWhileRevalidateMs)),
      Math.max(0, Math.round(input.staleIfErrorMs)),
      key,
      release ?? '',
      this.#reclaimBudget,
      this.prefix,
      input.owner ?? '',
      this.#tenantMaxBytes,
      this.#ownerMaxBytes,
    ]
    const reply = await this.#gated('set', () => this.#scripts.rcSet(keys.length, ...keys, ...args))
    if (reply === 'stored') this.#copies.set(key, input)
    return reply === 'stored' || reply === 'too-large' ? reply : 'refused'
  }

  /**
   * Tried even while the circuit is open: an invalidation must land as soon as
   * Redis answers. On failure it is kept and re-sent (see the file header).
   */
  async bump(tenantId: TenantId, tags: readonly string[]): Promise<number> {
    assertTags(tags)
    return this.#bumpOrRemember(tenantPart(tenantId), tags)
  }

  async bumpTenant(tenantId: TenantId): Promise<number> {
    return this.#bumpOrRemember(tenantPart(tenantId), [TENANT_WIDE_TAG])
  }

  /** Like bump: tried even while the circuit is open; on failure the tags are kept and re-sent. */
  async apply(tenantId: TenantId, records: readonly AppliedRecord[], position?: string): Promise<boolean> {
    const tags = records.map((r) => r.tag)
    const seqs = records.map((r) => r.seq)
    assertTags(tags.filter((t) => t !== TENANT_WIDE_TAG))
    const tenant = tenantPart(tenantId)
    const keys = [
      this.#seqKey(tenant),
      this.prefix + `applied:{${tenant}}`,
      ...tags.map((tag) => this.#tagPrefix(tenant) + tag),
    ]
    try {
      await this.#verifyServer()
      const reply = await this.#scripts.rcApply(
        keys.length,
        ...keys,
        randomUUID(),
        APPLIED_RECORDS_KEPT,
        position ?? '',
        ...seqs,
      )
      this.breaker.onSuccess()
      return Number(reply) !== 0
    } catch (err) {
      this.breaker.onFailure()
      this.#remember(tenant, tags)
      const error = err instanceof Error ? err : new Error(String(err))
      this.#onError(error, 'apply')
      throw new StoreUnavailableError(`redis apply failed (kept for retry): ${error.message}`, { cause: err })
    }
  }

  async position(tenantId: TenantId, stamp: Stamp): Promise<string | undefined> {
    const tenant = tenantPart(tenantId)
    const reply = await this.#gated(
      'position',
      () => this.#scripts.rcPosition(1, this.#seqKey(tenant), stamp.generation),
      false,
    )
    return reply === '' || reply === null ? undefined : String(reply)
  }

  async confirmPosition(tenantId: TenantId, stamp: Stamp, position: string): Promise<void> {
    const tenant = tenantPart(tenantId)
    await this.#gated(
      'confirm-position',
      () => this.#scripts.rcConfirmPosition(1, this.#seqKey(tenant), stamp.generation, position),
      false,
    )
  }

  /** A new generation for every tenant: every entry and stamp from before is refused. */
  async reset(): Promise<void> {
    try {
      await this.#rotateGenerations()
      this.breaker.onSuccess()
    } catch (err) {
      this.breaker.onFailure()
      const error = err instanceof Error ? err : new Error(String(err))
      this.#onError(error, 'reset')
      throw new StoreUnavailableError(`redis reset failed: ${error.message}`, { cause: err })
    }
  }

  async releaseLease(tenantId: TenantId, key: string, token: string): Promise<void> {
    assertKeyOfTenant(key, tenantId)
    await this.#gated('release', () => this.#scripts.rcRelease(1, this.prefix + 'lease:' + key, token), false)
  }

  async stats(tenantId: TenantId): Promise<StoreStats> {
    const tenant = tenantPart(tenantId)
    const [, meta, idx, count] = this.#tenantKeys(tenant)
    const reply = (await this.#gated(
      'stats',
      () => this.#scripts.rcStats(3, meta, idx, count, this.#reclaimBudget * 20),
      false,
    )) as string[]
    const byKind: Record<string, KindStats> = {}
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const field = reply[i]
      // Budget counters (bt, bu:<owner>) are not statistics by kind.
      if (!field.startsWith('k:') && !field.startsWith('b:')) continue
      const value = Number(reply[i + 1])
      const kind = field.slice(2)
      const stats = byKind[kind] ?? { keys: 0, bytes: 0 }
      if (field.startsWith('k:')) stats.keys = value
      else stats.bytes = value
      byKind[kind] = stats
    }
    let keys = 0
    let bytes = 0
    for (const [kind, s] of Object.entries(byKind)) {
      if (s.keys <= 0) {
        delete byKind[kind]
        continue
      }
      keys += s.keys
      bytes += s.bytes
    }
    return { keys, bytes, byKind }
  }

  /** Counts via HSCAN of the statistics hash (bounded work); entries evicted early may still count. */
  async countEntries(tenantId: TenantId, keyPrefix = ''): Promise<number> {
    const tenant = tenantPart(tenantId)
    if (/[*?[\]\\]/.test(keyPrefix)) throw new TypeError('key prefix must not contain glob characters')
    await this.stats(tenantId)
    const meta = this.prefix + `meta:{${tenant}}`
    return this.#gated(
      'count',
      async () => {
        let cursor = '0'
        let count = 0
        for (let round = 0; round < 1000; round++) {
          const [next, fields] = await this.#client.hscan(
            meta,
            cursor,
            'MATCH',
            `${keyPrefix}*`,
            'COUNT',
            1000,
          )
          count += fields.length / 2
          cursor = next
          if (cursor === '0') break
        }
        return count
      },
      false,
    )
  }

  health(): StoreHealth {
    return this.breaker.state === 'closed' && this.#pending.size === 0 && this.#client.status === 'ready'
      ? 'operational'
      : 'degraded'
  }

  breakerState(): 'closed' | 'half-open' | 'open' {
    return this.breaker.state
  }

  /** Tags of bumps not yet delivered to Redis. */
  pendingInvalidations(): number {
    let tags = 0
    for (const set of this.#pending.values()) tags += set.size
    return tags
  }

  /**
   * The server's maxmemory-policy, and whether it can evict tag versions before the
   * entries that depend on them (anything but noeviction and volatile-*). Undefined
   * when CONFIG is not allowed.
   */
  async evictionPolicy(): Promise<{ policy: string; safe: boolean } | undefined> {
    try {
      const reply = (await this.#client.config('GET', 'maxmemory-policy')) as string[]
      const policy = reply[1]
      return policy === undefined ? undefined : { policy, safe: EVICTION_SAFE_POLICIES.includes(policy) }
    } catch {
      return undefined
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#copies.clear()
    if (this.#flushTimer) clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    // A last attempt to deliver pending invalidations.
    await this.#flush().catch(() => {})
    if (this.#closeClient) await this.#client.quit().catch(() => this.#client.disconnect())
  }

  /** A new generation id, used by Redis only when the tenant has none yet (unique without randomness per read). */
  #candidateGeneration(): string {
    return `${this.#instance}.${++this.#candidates}`
  }

  #seqKey(tenant: string): string {
    return this.prefix + `seq:{${tenant}}`
  }

  #tagPrefix(tenant: string): string {
    let prefix = this.#tagPrefixMemo.get(tenant)
    if (prefix === undefined) {
      prefix = this.prefix + `tag:{${tenant}}:`
      if (this.#tagPrefixMemo.size >= 10_000) this.#tagPrefixMemo.clear()
      this.#tagPrefixMemo.set(tenant, prefix)
    }
    return prefix
  }

  /** seq, meta, idx, count, tenant-wide tag (built once per tenant: every read sends them). */
  #tenantKeys(tenant: string): readonly string[] {
    let keys = this.#tenantKeyMemo.get(tenant)
    if (!keys) {
      const p = this.prefix
      keys = Object.freeze([
        this.#seqKey(tenant),
        p + `meta:{${tenant}}`,
        p + `idx:{${tenant}}`,
        p + `count:{${tenant}}`,
        this.#tagPrefix(tenant) + TENANT_WIDE_TAG,
      ])
      if (this.#tenantKeyMemo.size >= 10_000) this.#tenantKeyMemo.clear()
      this.#tenantKeyMemo.set(tenant, keys)
    }
    return keys
  }

  /**
   * Runs an operation through the breaker. Reads and writes (`flushFirst`) first
   * deliver pending bumps, so nothing is served or stored while an invalidation
   * is missing from Redis. Every failure becomes StoreUnavailableError.
   */
  async #gated<T>(operation: string, fn: () => Promise<T>, flushFirst = true): Promise<T> {
    if (!this.breaker.allowRequest()) throw new StoreUnavailableError('redis circuit open')
    try {
      // On a stuck Redis the first command fails after the command timeout and
      // nothing after it is sent: a read waits one timeout, checks and flushes included.
      if (flushFirst) {
        await this.#verifyServer()
        await this.#flush()
      }
      const value = await fn()
      this.breaker.onSuccess()
      return value
    } catch (err) {
      this.breaker.onFailure()
      throw this.#unavailable(err, operation)
    }
  }

  /** Reports a failed command and turns it into what callers catch. */
  #unavailable(err: unknown, operation: string): StoreUnavailableError {
    const error = err instanceof Error ? err : new Error(String(err))
    this.#onError(error, operation)
    return new StoreUnavailableError(`redis ${operation} failed: ${error.message}`, { cause: err })
  }

  /**
   * Once per connection, before anything is read or written: if Redis restarted
   * (its run_id differs from the one recorded under `server`), its data may come
   * from a snapshot taken before bumps it never received — another instance's,
   * possibly lost with that instance — and its sequences may have gone back. A
   * new generation for every tenant then invalidates every entry and every stamp
   * from before the restart (one SCAN of the sequence keys, only after a restart).
   */
  async #verifyServer(): Promise<void> {
    if (this.#cluster) return
    // A check that began on an earlier connection does not cover a later one.
    while (this.#verifiedConnection !== this.#connection) {
      this.#verifying ??= this.#checkServer(this.#connection).finally(() => {
        this.#verifying = undefined
      })
      await this.#verifying
    }
  }

  async #checkServer(connection: number): Promise<void> {
    const info = await this.#client.info('server').catch((err: unknown) => {
      // INFO renamed away or not offered (a proxy): no restart detection there.
      if (err instanceof Error && err.name === 'ReplyError') return ''
      throw err
    })
    const runId = /^run_id:(\w+)/m.exec(info)?.[1]
    const key = this.prefix + 'server'
    if (runId !== undefined && (await this.#client.get(key)) !== runId) {
      await this.#rotateGenerations()
      // Recorded only once every generation moved, so no instance skips the rotation early.
      await this.#client.set(key, runId)
    }
    this.#verifiedConnection = connection
  }

  /** SCAN of every master (one in standalone); each node's pipeline holds only keys it serves. */
  async #rotateGenerations(): Promise<void> {
    const nodes = this.#client instanceof Cluster ? this.#client.nodes('master') : [this.#client]
    for (const node of nodes) {
      let cursor = '0'
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${this.prefix}seq:*`, 'COUNT', 1000)
        cursor = next
        if (keys.length > 0) {
          const pipeline = node.pipeline()
          for (const seqKey of keys) pipeline.hset(seqKey, 'g', randomUUID())
          for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err
        }
      } while (cursor !== '0')
    }
  }

  /** `resent`: a failed bump or delivery sent again, without the source position it may have had. */
  async #bumpRaw(tenant: string, tags: readonly string[], resent = false): Promise<number> {
    const keys = [this.#seqKey(tenant), ...tags.map((tag) => this.#tagPrefix(tenant) + tag)]
    return Number(await this.#scripts.rcBump(keys.length, ...keys, randomUUID(), resent ? '1' : ''))
  }

  async #bumpOrRemember(tenant: string, tags: readonly string[]): Promise<number> {
    try {
      const version = await this.#bumpRaw(tenant, tags)
      this.breaker.onSuccess()
      return version
    } catch (err) {
      this.breaker.onFailure()
      this.#remember(tenant, tags)
      const error = err instanceof Error ? err : new Error(String(err))
      this.#onError(error, 'bump')
      throw new StoreUnavailableError(`redis bump failed (kept for retry): ${error.message}`, { cause: err })
    }
  }

  #remember(tenant: string, tags: readonly string[]): void {
    let set = this.#pending.get(tenant)
    if (!set) {
      set = new Set()
      this.#pending.set(tenant, set)
    }
    for (const tag of tags) set.add(tag)
    // One tenant-wide bump outranks any number of tag bumps.
    if (set.size > this.#maxPendingTags) {
      set.clear()
      set.add(TENANT_WIDE_TAG)
    }
    this.#scheduleFlush()
  }

  /** Delivers every pending bump; throws if one fails (it stays pending). */
  #flush(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve()
    if (!this.#flushing) {
      this.#flushing = (async () => {
        for (const [tenant, set] of this.#pending) {
          const batch = [...set]
          await this.#bumpRaw(tenant, batch, true)
          for (const tag of batch) set.delete(tag)
          if (set.size === 0) this.#pending.delete(tenant)
        }
      })().finally(() => {
        this.#flushing = undefined
      })
    }
    return this.#flushing
  }

  #scheduleFlush(): void {
    if (this.#flushTimer || this.#closed) return
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined
      this.#flush().then(
        () => this.breaker.onSuccess(),
        () => this.#scheduleFlush(),
      )
    }, this.#flushIntervalMs)
    this.#flushTimer.unref()
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value)
}

function parseGet(reply: unknown, tenant: string, auxCount: number): GetResult {
  const r = reply as Buffer[]
  const stamp: Stamp = { tenant, generation: text(r[0]), seq: Number(text(r[1])) }
  const code = text(r[2])
  const lease = text(r[3]) as LeaseState
  const also: (AuxValue | undefined)[] = []
  for (let i = 0; i < auxCount; i++) {
    const at = 14 + i * 4
    const status = text(r[at])
    also.push(
      status === 'miss'
        ? undefined
        : { body: r[at + 1], generatedAt: Number(text(r[at + 2])), etag: text(r[at + 3]) },
    )
  }
  let main: MainResult
  if (code === 'miss') main = { status: 'miss' }
  else {
    const tags = text(r[12])
    const meta: EntryMeta = {
      etag: text(r[4]),
      generatedAt: Number(text(r[5])),
      kind: text(r[6]),
      storedAt: Number(text(r[7])),
      freshUntil: Number(text(r[8])),
      staleWhileRevalidateUntil: Number(text(r[9])),
      staleIfErrorUntil: Number(text(r[10])),
      stamp: Number(text(r[11])),
      tags: tags === '' ? [] : tags.split('\n'),
    }
    const entry = (): Entry => ({ ...meta, body: r[13] })
    switch (code) {
      case 'fresh':
        main = { status: 'hit', entry: entry() }
        break
      case 'swr':
        main = { status: 'stale', entry: entry(), freshness: 'stale-while-revalidate' }
        break
      case 'sie':
        main = { status: 'stale', entry: entry(), freshness: 'stale-if-error' }
        break
      case 'nm-fresh':
        main = { status: 'not-modified', meta, freshness: 'fresh' }
        break
      case 'nm-swr':
        main = { status: 'not-modified', meta, freshness: 'stale-while-revalidate' }
        break
      default:
        throw new Error(`unexpected cache get status ${code}`)
    }
  }
  return { ...main, stamp, lease, also }
}
