// Opens the database: pg when a URL is given, embedded PGlite otherwise.
// One code path above this file: everything else sees a Kysely<Database>.
import { mkdirSync } from 'node:fs'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import type { Database } from './database.js'

// Counts and bigints as numbers, not strings (ids stay below 2^53).
pg.types.setTypeParser(20, (v) => Number(v))

export type Engine = 'postgres' | 'pglite'

export interface DatabaseHandle {
  db: Kysely<Database>
  engine: Engine
  /** Cheap liveness probe for /health. */
  ping(): Promise<boolean>
  /**
   * LISTEN on `channel` (a lower-case identifier) outside the query pool;
   * `onNotify` also runs after a reconnection, since notifications sent while
   * disconnected are lost. Resolves to a function that stops listening.
   */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>
  close(): Promise<void>
}

export interface OpenOptions {
  databaseUrl?: string
  /** Postgres schema to put on the search_path (created if missing). */
  schema?: string
  /** PGlite data folder; 'memory://' for a throwaway database. */
  dataDir?: string
  /** PGlite: start from a dump made by dumpDataDir() (fast test fixtures). */
  loadDataDir?: Blob
  poolSize?: number
  /** Create the schema if missing. Default true; false for a read-only replica. */
  createSchema?: boolean
  /** How long a pool connection may take. Default 5000 ms. */
  connectTimeoutMs?: number
}

export async function openDatabase(options: OpenOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options)
  return openPglite(options.dataDir ?? './.data/pg', options.loadDataDir)
}

async function openPostgres(url: string, options: OpenOptions): Promise<DatabaseHandle> {
  const { schema } = options
  if (schema && options.createSchema !== false) {
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      await admin.query(`create schema if not exists "${schema}"`)
    } finally {
      await admin.end()
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    // pg's default (10 s) closes the pool in any pause of a few seconds, so
    // the next queries pay for new backends; a minute keeps a quiet
    // instance's connections without holding them forever.
    idleTimeoutMillis: 60_000,
    // Puts the schema first so unqualified table names resolve to it.
    options: schema ? `-c search_path=${schema}` : undefined,
  })
  // An idle client's error (server restart) must not crash the process.
  pool.on('error', () => {})
  // Nor a checked-out client's between two queries of a transaction (a
  // terminated backend): the next query rejects, and that is handled.
  pool.on('connect', (client) => {
    client.on('error', () => {})
  })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return {
    db,
    engine: 'postgres',
    ping: () => probe(db),
    listen: (channel, onNotify) => listenPostgres(url, channel, onNotify),
    close: () => db.destroy(),
  }
}

async function openPglite(dataDir: string, loadDataDir?: Blob): Promise<DatabaseHandle> {
  // Loaded only for the embedded engine: its code is megabytes of heap that a
  // Postgres instance would otherwise scan in every full collection.
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('kysely-pglite-dialect'),
  ])
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true })
  const pglite = await PGlite.create(dataDir, loadDataDir ? { loadDataDir } : {})
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
  return {
    db,
    engine: 'pglite',
    ping: () => probe(db),
    listen: (channel, onNotify) => pglite.listen(channel, () => onNotify()),
    async close() {
      await db.destroy()
      // Kysely does not close a PGlite it never queried through; close it ourselves.
      if (!pglite.closed) await pglite.close()
    },
  }
}

const RELISTEN_DELAY_MS = 500

/** A dedicated client that LISTENs, reconnecting (and waking the listener) after a loss. */
async function listenPostgres(
  url: string,
  channel: string,
  onNotify: () => void,
): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new TypeError(`bad channel ${channel}`)
  let client: pg.Client | undefined
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url })
    c.on('error', () => {})
    c.on('notification', () => onNotify())
    c.on('end', () => {
      if (client === c) client = undefined
      if (!stopped) retry()
    })
    await c.connect()
    await c.query(`listen ${channel}`)
    client = c
  }
  const retry = (): void => {
    if (timer || stopped) return
    timer = setTimeout(() => {
      timer = undefined
      connect().then(onNotify, retry)
    }, RELISTEN_DELAY_MS)
    timer.unref()
  }
  await connect()
  return async () => {
    stopped = true
    if (timer) clearTimeout(timer)
    await client?.end().catch(() => {})
  }
}

async function probe(db: Kysely<Database>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db)
    return true
  } catch {
    return false
  }
}
