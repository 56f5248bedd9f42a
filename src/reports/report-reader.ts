// Reads a report through the cache. A warm HIT costs one store round trip and
// no database query: the entry, the report definition and the viewer's access
// set come back together (`also`), each validated by tag versions in the store.
// Parsed copies of the definition and the access set are kept in process only
// as hints to build the key; they are used only when the store confirms that
// their bytes are still the current ones.
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
import type { CacheOutcome, TaggedCache } from '../cache/cache.js'
import { auxKey, reportKey, scopeFor } from '../cache/keys.js'
import type { PolicyTable } from '../cache/policy.js'
import type { AuxValue, Stamp } from '../cache/store.js'
import { Forbidden, ReportNotFound } from '../errors.js'
import { getReport } from './definitions.js'
import { canonicalFilters, normaliseFilters } from './filters.js'
import { computeReport, resolveEntities, visibilityOf } from './run-report.js'
import { tag } from './tags.js'
import type { ReportTypeName, ResolvedEntities } from './types.js'

/** A definition as cached: the row plus what its access rule needs. */
interface DefinitionValue {
  row: ReportRow
  entities: ResolvedEntities
}

interface Hint<T> {
  bytes: Buffer
  value: T
}

export interface ReadRequest {
  principal: Principal
  reportId: number
  query: Readonly<Record<string, unknown>>
  ifNoneMatch?: string
}

export interface ReadOutcome extends CacheOutcome {
  type: ReportTypeName
}

const AUX_TTL_SECONDS = 600
const MAX_HINTS = 20_000

/** Thrown inside `authorize` when the hints that built the key are out of date. */
class HintsOutdated extends Error {}

/** A Map bounded by insertion order: enough for hints, which are re-derivable. */
class BoundedMap<V> extends Map<string, V> {
  constructor(private readonly max: number) {
    super()
  }
  override set(key: string, value: V): this {
    if (this.size >= this.max && !this.has(key)) this.delete(this.keys().next().value as string)
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

export class ReportReader {
  readonly #definitions = new BoundedMap<Hint<DefinitionValue>>(MAX_HINTS)
  readonly #viewers = new BoundedMap<Hint<Viewer>>(MAX_HINTS)
  readonly #loads = new Map<string, Promise<unknown>>()
  #joinedLoads = 0

  constructor(
    private readonly db: Db,
    private readonly cache: TaggedCache,
    private readonly policies: PolicyTable,
    /** Where report computations may run besides the primary (access checks never go there). */
    private readonly replica?: ReplicaRouter,
  ) {}

  async read(req: ReadRequest): Promise<ReadOutcome> {
    const { tenantId } = req.principal
    const defKey = auxKey('def', tenantId, req.reportId)
    // One access set per user, built from its record; tokens whose claims
    // disagree with it are refused in authorize (docs/identity.md).
    const viewerKey = auxKey('access', tenantId, `u${req.principal.id}`)
    const def = this.#definitions.get(defKey)
    const viewer = this.#viewers.get(viewerKey)
    if (def && viewer) {
      try {
        return await this.#readWith(req, def, viewer, [defKey, viewerKey])
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
        this.#shared(defKey, () => this.#loadDefinition(tenantId, req.reportId, defKey)),
        this.#shared(viewerKey, () => this.#loadViewer(req.principal, viewerKey)),
      ])
      return await this.#readWith(req, sharedDef, sharedViewer, [defKey, viewerKey])
    } catch (err) {
      // A 404 from a shared load may predate the report's creation: check privately.
      if (!(err instanceof HintsOutdated || err instanceof ReportNotFound)) throw err
    }
    // Private loads, stored for the next request (and other instances), then a
    // read without `also` (the store may be down or have refused them). A change
    // racing with this load is caught in compute (HintsOutdated): try again.
    for (let attempt = 1; ; attempt++) {
      const [defLoad, viewerLoad] = await Promise.allSettled([
        this.#loadDefinition(tenantId, req.reportId, defKey),
        this.#loadViewer(req.principal, viewerKey),
      ])
      // A token that names no current user is a 401 before the report's existence is told.
      if (viewerLoad.status === 'rejected') throw viewerLoad.reason
      if (defLoad.status === 'rejected') throw defLoad.reason
      const [freshDef, freshViewer] = [defLoad.value, viewerLoad.value]
      try {
        return await this.#readWith(req, freshDef, freshViewer, undefined)
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
      also,
      // One user's reads cannot take more than its byte budget (CACHE_USER_MAX_BYTES).
      owner: String(req.principal.id),
      authorize: (values: readonly (AuxValue | undefined)[]) => {
        if (also && !(sameBytes(values[0], def.bytes) && sameBytes(values[1], viewer.bytes))) {
          throw new HintsOutdated()
        }
        // The access set is current (confirmed above, or just loaded): its role and
        // tenant are the record's. Checked on every request, hit or not.
        if (!matchesIdentity(viewer.value, req.principal)) throw identityMismatch()
        // Access is checked on every request, hit or not.
        if (visibility === 'forbidden') throw new Forbidden(`You may not see report ${row.id}`)
      },
      compute: async (stamp) => {
        if (visibility === 'forbidden') throw new Forbidden(`You may not see report ${row.id}`)
        // Re-read after the stamp was taken: the key was built from values read
        // before it, and a body must only ever come from data at least as new as
        // its stamp. A change that moves the key (scope, access) starts over.
        const current = await getReport(this.db, row.tenant_id, row.id)
        if (!current) throw new ReportNotFound(String(row.id))
        const currentViewer = personal ? toViewer(await loadViewerData(this.db, req.principal)) : viewer.value
        const entitiesNow = await resolveEntities(this.db, row.tenant_id, [current])
        if (visibilityOf(currentViewer, current, entitiesNow) !== visibility) throw new HintsOutdated()
        const resolved = { report: current, visibility, filters }
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
    return { ...outcome, type: row.type }
  }

  /** The replica may compute only under a stamp (a BYPASS has none: it reads the primary). */
  #required(tenantId: number, stamp: Stamp | undefined): RequiredPosition | undefined {
    if (!stamp) return undefined
    return {
      known: () => this.cache.position(tenantId, stamp),
      confirm: (position: string) => this.cache.confirmPosition(tenantId, stamp, position),
    }
  }

  async #loadDefinition(tenantId: number, reportId: number, key: string): Promise<Hint<DefinitionValue>> {
    // A report that does not exist is thrown from inside compute, so nothing is
    // stored for it: refused reads must not grow the cache (no negative entries).
    const bytes = await this.cache.computeValue({
      tenantId,
      key,
      kind: 'definition',
      tags: [tag.report(reportId)],
      ttlSeconds: AUX_TTL_SECONDS,
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
    const hint = { bytes, value: decodeDefinition(bytes) }
    this.#definitions.set(key, hint)
    return hint
  }

  async #loadViewer(principal: Principal, key: string): Promise<Hint<Viewer>> {
    const bytes = await this.cache.computeValue({
      tenantId: principal.tenantId,
      key,
      kind: 'access',
      ttlSeconds: AUX_TTL_SECONDS,
      owner: String(principal.id),
      compute: async () => {
        const data = await loadViewerData(this.db, principal)
        return { value: Buffer.from(JSON.stringify(data)), tags: data.accessTags }
      },
    })
    const hint = { bytes, value: toViewer(JSON.parse(bytes.toString('utf8')) as ViewerData) }
    this.#viewers.set(key, hint)
    return hint
  }
}

function sameBytes(value: AuxValue | undefined, bytes: Buffer): boolean {
  return value?.body.equals(bytes) === true
}
