// Runs the migrations to the latest version; used at start, by the CLI and tests.
import { type Kysely, Migrator } from 'kysely'
import type { Database } from './database.js'
import { migrationProvider } from './migrations/index.js'

export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error || failed) {
    const name = failed ? ` (${failed.migrationName})` : ''
    throw new Error(`Migration failed${name}: ${error instanceof Error ? error.message : String(error)}`)
  }
}
