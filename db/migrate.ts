// Runs the migrations to the latest version; used at start, by the CLI and tests.
import { type Kysely, Migrator, sql } from 'kysely'
import type { Database } from './database.js'
import { migrationProvider } from './migrations/index.js'

export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
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
    throw new Error(`Migration failed${name}: ${error instanceof Error ? error.message : String(error)}`)
  }
}
