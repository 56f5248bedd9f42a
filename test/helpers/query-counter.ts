// Observing the queries an app runs, without mocking the database:
// - QueryCounter, a Kysely plugin that counts executed queries and the tables
//   each one touched (so a test can say "a HIT ran zero queries" or "the
//   report's aggregate over submissions ran once");
// - a gate that holds one query's result until released: the query has read
//   its rows and given its connection back (PGlite has only one), and the
//   computation that issued it waits — the slow reader of the classic
//   cache-aside race.
import type {
  CompiledQuery,
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely'
import type { DatabaseHandle } from '../../db/connect.js'

type QueryId = PluginTransformQueryArgs['queryId']

export interface ExecutedQuery {
  /** Tables named in the query (TableNode references and words of raw SQL fragments). */
  tables: ReadonlySet<string>
}

const TABLES = [
  'tenants',
  'users',
  'classes',
  'enrollments',
  'guardians',
  'tutor_links',
  'assignments',
  'submissions',
  'materials',
  'material_progress',
  'reports',
]

function tablesOf(node: RootOperationNode): Set<string> {
  const found = new Set<string>()
  const walk = (value: unknown): void => {
    if (value === null || typeof value !== 'object') return
    if (Array.isArray(value)) {
      for (const item of value) walk(item)
      return
    }
    const record = value as Record<string, unknown>
    if (record.kind === 'TableNode') {
      const table = record.table as { identifier?: { name?: unknown } } | undefined
      if (typeof table?.identifier?.name === 'string') found.add(table.identifier.name)
    }
    if (record.kind === 'RawNode' && Array.isArray(record.sqlFragments)) {
      const text = record.sqlFragments.join(' ')
      for (const name of TABLES) if (new RegExp(`\\b${name}\\b`).test(text)) found.add(name)
    }
    for (const child of Object.values(record)) walk(child)
  }
  walk(node)
  return found
}

/** Counts every query that executed (in transactions too: plugins follow them). */
export class QueryCounter implements KyselyPlugin {
  readonly #pending = new WeakMap<QueryId, Set<string>>()
  #executed: ExecutedQuery[] = []

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.#pending.set(args.queryId, tablesOf(args.node))
    return args.node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    this.#executed.push({ tables: this.#pending.get(args.queryId) ?? new Set() })
    return args.result
  }

  /** Queries executed since the last reset. */
  get total(): number {
    return this.#executed.length
  }

  /** Queries since the last reset that touched `table`. */
  touching(table: string): number {
    return this.#executed.filter((q) => q.tables.has(table)).length
  }

  reset(): void {
    this.#executed = []
  }
}

export interface HeldQuery {
  /** Resolves when a matching query has read its rows and is being held. */
  reached: Promise<string>
  /** Lets the held query's result go on to its caller. */
  release(): void
}

export interface InstrumentedDatabase<H extends DatabaseHandle> {
  /** Give this to buildTestApp: its `db` counts and can be gated. */
  handle: H
  counter: QueryCounter
  /** Holds the result of the next query (outside transactions) whose SQL matches, once. */
  holdNext(match: RegExp): HeldQuery
}

/**
 * Wraps a database handle for one app: same connection(s), plus a counter and
 * a gate. The gate replaces `executeQuery` on this Kysely's own executor (a
 * fresh one from withPlugin, shared with nothing else); transactions get new
 * executors and are never held, so a writer is never blocked by the gate.
 */
export function instrumentDatabase<H extends DatabaseHandle>(base: H): InstrumentedDatabase<H> {
  const counter = new QueryCounter()
  const db = base.db.withPlugin(counter)
  const executor = db.getExecutor()
  const execute = executor.executeQuery.bind(executor)
  let armed: { match: RegExp; reached: (sql: string) => void; released: Promise<void> } | undefined
  Object.defineProperty(executor, 'executeQuery', {
    configurable: true,
    value: async <R>(compiled: CompiledQuery<R>): Promise<QueryResult<R>> => {
      const result = await execute(compiled)
      const gate = armed
      if (gate?.match.test(compiled.sql)) {
        armed = undefined
        gate.reached(compiled.sql)
        await gate.released
      }
      return result
    },
  })
  return {
    handle: { ...base, db },
    counter,
    holdNext(match) {
      let reached!: (sql: string) => void
      let release!: () => void
      const reachedPromise = new Promise<string>((resolve) => {
        reached = resolve
      })
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      armed = { match, reached, released }
      return { reached: reachedPromise, release }
    },
  }
}
