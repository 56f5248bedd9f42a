// Runs the migrations to the latest version; used at start, by the CLI and tests.
import { type Kysely, Migrator, sql } from 'kysely'
import type { Database } from './database.js'
import { migrationProvider } from './migrations/index.js'

// Kysely's migrator introspects the tables of every schema, and Postgres
// raises invalid_schema_name when another schema is dropped during that query
// (test files drop theirs in teardown). Our own schema is never the one gone,
// so a retry is safe.
const INVALID_SCHEMA_NAME = '3F000'
const ATTEMPTS = 5

export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  if (await isUpToDate(db)) return
  for (let attempt = 1; ; attempt++) {
    try {
      return await runMigrator(db)
    } catch (err) {
      if (attempt >= ATTEMPTS || !isSchemaDroppedMeanwhile(err)) throw err
    }
  }
}

/** True when this schema's migration table already lists every migration: no introspection needed. */
async function isUpToDate(db: Kysely<Database>): Promise<boolean> {
  const wanted = Object.keys(await migrationProvider.getMigrations())
  const { rows } = await sql<{
    present: string | null
  }>`select to_regclass('kysely_migration')::text as present`.execute(db)
  if (!rows[0]?.present) return false
  const done = await sql<{ name: string }>`select name from kysely_migration`.execute(db)
  const names = new Set(done.rows.map((r) => r.name))
  return wanted.every((name) => names.has(name))
}

function isSchemaDroppedMeanwhile(err: unknown): boolean {
  const cause = err instanceof Error && 'cause' in err ? err.cause : undefined
  return [err, cause].some(
    (e) => typeof e === 'object' && e !== null && 'code' in e && e.code === INVALID_SCHEMA_NAME,
  )
}

async function runMigrator(db: Kysely<Database>): Promise<void> {
  // Kysely looks for its bookkeeping tables in every schema unless told which
  // one: another schema's kysely_migration_lock would be taken for ours.
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db)
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    migrationTableSchema: rows[0]?.schema ?? undefined,
  })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error || failed) {
    const name = failed ? ` (${failed.migrationName})` : ''
    throw new Error(`Migration failed${name}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    })
  }
}
