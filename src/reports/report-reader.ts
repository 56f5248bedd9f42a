// Reads a report through the cache: the one pipeline of report results, used
// alike by GET /reports/:id, POST /cache/warm, the CLI, the tests and the
// benchmarks (uncachedReader). A warm HIT costs one store round trip and no
// database query: the entry, the report definition and the viewer's access
// set are validated together (`also`), each by tag versions in the store.
// Parsed copies of the definition and the access set are kept in process only
// as hints to build the key; they are used only when the store confirms, in
// that same round trip, that their ETags are still the current ones.
//
// Two entries: `readHit` answers a fresh HIT (or its 304) from hints already
// known, with one store read and nothing else (synchronously on the memory
// store); anything else is `read`, which loads what is missing and computes.
import type { Db, ReportRow } from '../../db/database.js'
import type { ReplicaRouter, RequiredPosition } from '../../db/replica.js'
import {
  identityMismatch,
  loadViewerData,
  matchesIdentity,
  type Principal,
  toViewer,
  type Viewer,
  type ViewerData,
} from '../access/viewer.js'
import {
  type CacheOutcome,
  type CacheSession,
  type HitAnswer,
  type HitQuery,
  TaggedCache,
} from '../cache/cache.js'
import { strongEtag } from '../cache/http.js'
import { auxKey, reportKey, scopeFor } from '../cache/keys.js'
import { MemoryStore } from '../cache/memory-store.js'
import { PolicyTable } from '../cache/policy.js'
import type { AuxValue, Stamp } from '../cache/store.js'
import { Forbidden, ReportNotFound } from '../errors.js'
import { getReport } from './definitions.js'
import { canonicalFilters, normaliseFilters } from './filters.js'
import { computeReport, resolveEntities, visibilityOf } from './run-report.js'
import { tag } from './tags.js'
import type { ReportFilters, ReportTypeName, ResolvedEntities, Visibility } from './types.js'

/** A definition as cached: the row plus what its access rule needs. */
interface DefinitionValue {
  row: ReportRow
  entities: ResolvedEntities
}

interface Hint<T> {
  bytes: Buffer
  /** As the store holds it (computeValue stores strongEtag of the bytes). */
  etag: string
  value: T
}

export interface ReadRequest {
  principal: Principal
  reportId: number
  query: Readonly<Record<string, unknown>>
  ifNoneMatch?: string
  ifModifiedSince?: string
  /** The store already failed for this request (readHit said `unavailable`): do not wait on it again. */
  storeFailed?: boolean
  /** A read made to fill the cache (warming): not counted as a client's. */
  warming?: boolean
}

export type ReadOutcome = CacheOutcome & { kind: ReportTypeName }

/** What readHit needs besides the principal: the id and the query, as sent. */
export interface HitRequest {
  principal: Principal
  reportId: number
  /** The raw query string (after `?`, '' without): the memo key of its filters. */
  rawQuery: string
  query: Readonly<Record<string, unknown>>
  ifNoneMatch: string | undefined
  ifModifiedSince: string | undefined
}

/** A key built from hints, kept until the hints change (see #planFor). */
interface Plan {
  def: Hint<DefinitionValue>
  viewer: Hint<Viewer>
  query: HitQuery
  /** Identity agrees and access is allowed: otherwise the full read says why not. */
  allowed: boolean
}

const AUX_TTL_SECONDS = 600
const MAX_HINTS = 20_000
const MAX_PLANS_PER_PRINCIPAL = 1_000
const MAX_FILTER_MEMO = 10_000

/** Thrown inside `authorize` when the hints that built the key are out of date. */
class HintsOutdated extends Error {}

/** A Map bounded by insertion order: enough for hints, which are re-derivable. */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super()
  }
  override set(key: K, value: V): this {
    if (this.size >= this.max && !this.has(key)) this.delete(this.keys().next().value as K)
    return super.set(key, value)
  }
}

function encodeDefinition(value: DefinitionValue): Buffer {
  return Buffer.from(
    JSON.stringify({ row: value.row, assignmentClasses: [...value.entities.assignmentClasses] }),
  )
}

function decodeDefinition(bytes: Buffer): DefinitionValue {
  const parsed = JSON.parse(bytes.toString('utf8')) as {
    row: ReportRow
    assignmentClasses: [number, number][]
  }
  return { row: parsed.row, entities: { assignmentClasses: new Map(parsed.assignmentClasses) } }
}

function hint<T>(bytes: Buffer, value: T): Hint<T> {
  return { bytes, etag: strongEtag(bytes), value }
}

export class ReportReader {
  readonly #definitions = new BoundedMap<string, Hint<DefinitionValue>>(MAX_HINTS)
  readonly #viewers = new BoundedMap<string, Hint<Viewer>>(MAX_HINTS)
  readonly #loads = new Map<string, Promise<unknown>>()
  /** Per principal (the verified-token memo keeps one object per token): report id → raw query → plan. */
  readonly #plans = new WeakMap<Principal, Map<number, Map<string, Plan | null>>>()
  /** Filters by report type and raw query string, validated once per distinct URL (null: invalid). */
  readonly #filters = new Map<ReportTypeName, Map<string, { filters: ReportFilters; key: string } | null>>()
  #joinedLoads = 0

  constructor(
    private readonly db: Db,
    private readonly cache: TaggedCache,
    private readonly policies: PolicyTable,
    /** Where report computations may run besides the primary (access checks never go there). */
    private readonly replica?: ReplicaRouter,
  ) {}

  /**
   * A fresh HIT or its 304, from hints this process holds, with one store read:
   * `undefined` when anything else is needed (cold hints, a miss, a change,
   * a refusal: `read` answers those), `unavailable` when the store failed.
   * Identity and access are checked on every call, against hints the store
   * confirms in the same read.
   */
  readHit(req: HitRequest): HitAnswer | Promise<HitAnswer> {
    const plan = this.#planFor(req)
    if (!plan?.allowed) return undefined
    return this.cache.serveHit(plan.query, req.ifNoneMatch, req.ifModifiedSince)
  }

  #planFor(req: HitRequest): Plan | undefined {
    const { principal, reportId, rawQuery } = req
    let byReport = this.#plans.get(principal)
    if (!byReport) {
      byReport = new Map()
      this.#plans.set(principal, byReport)
    }
    let byQuery = byReport.get(reportId)
    if (!byQuery) {
      if (byReport.size >= MAX_PLANS_PER_PRINCIPAL) byReport.clear()
      byQuery = new Map()
      byReport.set(reportId, byQuery)
    }
    const known = byQuery.get(rawQuery)
    // Still built from the current hints: use it (the store confirms them anyway).
    if (
      known &&
      this.#definitions.get(known.query.also[0]) === known.def &&
      this.#viewers.get(known.query.also[1]) === known.viewer
    ) {
      return known
    }
    const defKey = auxKey('def', principal.tenantId, reportId)
    const viewerKey = auxKey('access', principal.tenantId, `u${principal.id}`)
    const def = this.#definitions.get(defKey)
    const viewer = this.#viewers.get(viewerKey)
    if (!def || !viewer) return undefined
    const { row, entities } = def.value
    const filtered = this.#filtersOf(row.type, rawQuery, req.query)
    if (!filtered) return undefined
    const visibility = visibilityOf(viewer.value, row, entities)
    const plan: Plan = {
      def,
      viewer,
      query: {
        tenantId: principal.tenantId,
        key: reportKey({
          tenantId: principal.tenantId,
          reportId: row.id,
          scope: visibility === 'personal' ? scopeFor(principal.id) : scopeFor(),
          filters: filtered.key,
        }),
        kind: row.type,
        also: [defKey, viewerKey],
        alsoEtags: [def.etag, viewer.etag],
      },
      allowed: visibility !== 'forbidden' && matchesIdentity(viewer.value, principal),
    }
    if (byQuery.size >= MAX_PLANS_PER_PRINCIPAL) byQuery.clear()
    byQuery.set(rawQuery, plan)
    return plan
  }

  /** normaliseFilters once per type and raw query; null when invalid (the full read gives the 400). */
  #filtersOf(
    type: ReportTypeName,
    rawQuery: string,
    query: Readonly<Record<string, unknown>>,
  ): { filters: ReportFilters; key: string } | null {
    let byQuery = this.#filters.get(type)
    if (!byQuery) {
      byQuery = new Map()
      this.#filters.set(type, byQuery)
    }
    let found = byQuery.get(rawQuery)
    if (found === undefined) {
      try {
        const filters = normaliseFilters(type, query)
        found = { filters, key: canonicalFilters(filters) }
      } catch {
        found = null
      }
      if (byQuery.size >= MAX_FILTER_MEMO) byQuery.clear()
      byQuery.set(rawQuery, found)
    }
    return found
  }

  async read(req: ReadRequest): Promise<ReadOutcome> {
    const { tenantId } = req.principal
    const session: CacheSession = { storeFailed: req.storeFailed === true }
    const defKey = auxKey('def', tenantId, req.reportId)
    // One access set per user, built from its record; tokens whose claims
    // disagree with it are refused in authorize (docs/identity.md).
    const viewerKey = auxKey('access', tenantId, `u${req.principal.id}`)
    const def = this.#definitions.get(defKey)
    const viewer = this.#viewers.get(viewerKey)
    if (def && viewer) {
      try {
        return await this.#readWith(req, session, def, viewer, [defKey, viewerKey])
      } catch (err) {
        if (!(err instanceof HintsOutdated)) throw err
      }
    }
    // Cold or outdated hints: concurrent requests of this process share one load
    // per key (a cold burst must not run one definition query per request). A
    // shared load may have started before a change this request must see, so the
    // store confirms in the same round trip as the entry (`also`) that the loaded
    // bytes are still the valid ones; otherwise load privately below.
    try {
      const [sharedDef, sharedViewer] = await Promise.all([
        this.#shared(defKey, () => this.#loadDefinition(tenantId, req.reportId, defKey, session)),
        this.#shared(viewerKey, () => this.#loadViewer(req.principal, viewerKey, session)),
      ])
      return await this.#readWith(req, session, sharedDef, sharedViewer, [defKey, viewerKey])
    } catch (err) {
      // A 404 from a shared load may predate the report's creation: check privately.
      if (!(err instanceof HintsOutdated || err instanceof ReportNotFound)) throw err
    }
    // Private loads, stored for the next request (and other instances), then a
    // read without `also` (the store may be down or have refused them). A change
    // racing with this load is caught in compute (HintsOutdated): try again.
    for (let attempt = 1; ; attempt++) {
      const [defLoad, viewerLoad] = await Promise.allSettled([
        this.#loadDefinition(tenantId, req.reportId, defKey, session),
        this.#loadViewer(req.principal, viewerKey, session),
      ])
      // A token that names no current user is a 401 before the report's existence is told.
      if (viewerLoad.status === 'rejected') throw viewerLoad.reason
      if (defLoad.status === 'rejected') throw defLoad.reason
      const [freshDef, freshViewer] = [defLoad.value, viewerLoad.value]
      try {
        return await this.#readWith(req, session, freshDef, freshViewer, undefined)
      } catch (err) {
        if (!(err instanceof HintsOutdated) || attempt >= 3) throw err
      }
    }
  }

  /** One running load per key in this process; forgotten once it settles. */
  #shared<T>(key: string, load: () => Promise<T>): Promise<T> {
    const running = this.#loads.get(key) as Promise<T> | undefined
    if (running) {
      this.#joinedLoads++
      return running
    }
    const promise = load().finally(() => this.#loads.delete(key))
    this.#loads.set(key, promise)
    return promise
  }

  /** Requests that shared another request's definition or access load (since start). */
  get joinedLoads(): number {
    return this.#joinedLoads
  }

  /** Drops the hints of a definition (after PATCH/DELETE in this process). */
  forget(tenantId: number, reportId: number): void {
    this.#definitions.delete(auxKey('def', tenantId, reportId))
  }

  async #readWith(
    req: ReadRequest,
    session: CacheSession,
    def: Hint<DefinitionValue>,
    viewer: Hint<Viewer>,
    also: [string, string] | undefined,
  ): Promise<ReadOutcome> {
    const { row, entities } = def.value
    // Filters are validated against the type, which a PATCH never changes.
    const filters = normaliseFilters(row.type, req.query)
    const visibility = visibilityOf(viewer.value, row, entities)
    const personal = visibility === 'personal'
    const policy = this.policies.get(row.type)
    // Set when the store could not confirm the hints (it is unavailable): the
    // computation then decides identity and access from the database itself.
    let unconfirmed = false
    const outcome = await this.cache.getOrCompute({
      tenantId: req.principal.tenantId,
      key: reportKey({
        tenantId: req.principal.tenantId,
        reportId: row.id,
        scope: personal ? scopeFor(req.principal.id) : scopeFor(),
        filters: canonicalFilters(filters),
      }),
      kind: row.type,
      // A personal body also depends on what the viewer may see.
      tags: [tag.report(row.id), ...(personal ? viewer.value.accessTags : [])],
      policy,
      ifNoneMatch: req.ifNoneMatch,
      ifModifiedSince: req.ifModifiedSince,
      also,
      alsoEtags: also ? [def.etag, viewer.etag] : undefined,
      session,
      warming: req.warming,
      // One user's reads cannot take more than its byte budget (CACHE_USER_MAX_BYTES).
      owner: String(req.principal.id),
      authorize: (values: readonly (AuxValue | undefined)[], confirmed: boolean) => {
        if (!confirmed) {
          unconfirmed = true
          return
        }
        if (also && !(values[0]?.etag === def.etag && values[1]?.etag === viewer.etag)) {
          throw new HintsOutdated()
        }
        // The access set is current (confirmed above, or just loaded): its role and
        // tenant are the record's. Checked on every request, hit or not.
        if (!matchesIdentity(viewer.value, req.principal)) throw identityMismatch()
        // Access is checked on every request, hit or not.
        if (visibility === 'forbidden') throw new Forbidden(`You may not see report ${row.id}`)
      },
      compute: async (stamp) => {
        if (!unconfirmed && visibility === 'forbidden')
          throw new Forbidden(`You may not see report ${row.id}`)
        // Re-read after the stamp was taken: the key was built from values read
        // before it, and a body must only ever come from data at least as new as
        // its stamp. A change that moves the key (scope, access) starts over.
        const current = await getReport(this.db, row.tenant_id, row.id)
        if (!current) throw new ReportNotFound(String(row.id))
        // Unconfirmed hints: the user's record decides now (a 401 when it disagrees).
        const currentViewer =
          personal || unconfirmed ? toViewer(await loadViewerData(this.db, req.principal)) : viewer.value
        const entitiesNow = await resolveEntities(this.db, row.tenant_id, [current])
        const now: Visibility = visibilityOf(currentViewer, current, entitiesNow)
        // Nothing is stored without the store: the access decided now is the one that counts.
        if (unconfirmed && now === 'forbidden') throw new Forbidden(`You may not see report ${row.id}`)
        if (!unconfirmed && now !== visibility) throw new HintsOutdated()
        const resolved = {
          report: current,
          visibility: now === 'forbidden' ? ('shared' as const) : now,
          filters,
        }
        const computed = this.replica
          ? await this.replica.compute(this.#required(row.tenant_id, stamp), (db) =>
              computeReport(db, currentViewer, resolved),
            )
          : await computeReport(this.db, currentViewer, resolved)
        return {
          body: Buffer.from(computed.body),
          tags: computed.tags,
          generatedAt: computed.generatedAt.getTime(),
        }
      },
    })
    return outcome as ReadOutcome
  }

  /** The replica may compute only under a stamp (a BYPASS has none: it reads the primary). */
  #required(tenantId: number, stamp: Stamp | undefined): RequiredPosition | undefined {
    if (!stamp) return undefined
    return {
      known: () => this.cache.position(tenantId, stamp),
      confirm: (position: string) => this.cache.confirmPosition(tenantId, stamp, position),
    }
  }

  async #loadDefinition(
    tenantId: number,
    reportId: number,
    key: string,
    session: CacheSession,
  ): Promise<Hint<DefinitionValue>> {
    // A report that does not exist is thrown from inside compute, so nothing is
    // stored for it: refused reads must not grow the cache (no negative entries).
    const bytes = await this.cache.computeValue({
      tenantId,
      key,
      kind: 'definition',
      tags: [tag.report(reportId)],
      ttlSeconds: AUX_TTL_SECONDS,
      session,
      compute: async () => {
        const row = await getReport(this.db, tenantId, reportId)
        if (!row) throw new ReportNotFound(String(reportId))
        const entities = await resolveEntities(this.db, tenantId, [row])
        // The class of a referenced assignment feeds the access decision.
        const tags = [...entities.assignmentClasses.keys()].map(tag.assignment)
        return { value: encodeDefinition({ row, entities }), tags }
      },
    })
    // Round-trip through JSON so the hint equals what other requests will parse.
    const loaded = hint(bytes, decodeDefinition(bytes))
    this.#definitions.set(key, loaded)
    return loaded
  }

  async #loadViewer(principal: Principal, key: string, session: CacheSession): Promise<Hint<Viewer>> {
    const bytes = await this.cache.computeValue({
      tenantId: principal.tenantId,
      key,
      kind: 'access',
      ttlSeconds: AUX_TTL_SECONDS,
      owner: String(principal.id),
      session,
      compute: async () => {
        const data = await loadViewerData(this.db, principal)
        return { value: Buffer.from(JSON.stringify(data)), tags: data.accessTags }
      },
    })
    const loaded = hint(bytes, toViewer(JSON.parse(bytes.toString('utf8')) as ViewerData))
    this.#viewers.set(key, loaded)
    return loaded
  }
}

/** Nothing kept between reads: each computes (`X-Cache: BYPASS`). */
const UNCACHED = new PolicyTable({ default: { ttl: 0, maxAge: 0, staleWhileRevalidate: 0, staleIfError: 0 } })

/**
 * The API's read pipeline over an empty cache of its own: every read computes
 * from `db` (a transaction too), with the same access checks, filters and body
 * construction as GET /reports/:id. For tests and benchmarks.
 */
export function uncachedReader(db: Db): ReportReader {
  return new ReportReader(db, new TaggedCache({ store: new MemoryStore() }), UNCACHED)
}
