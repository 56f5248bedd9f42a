// A fresh database per test file: a private schema on the real Postgres when
// DATABASE_URL is set, else an in-memory PGlite. Migrated, empty, and dropped
// in teardown.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { type DatabaseHandle, openDatabase } from '../../db/connect.js'
import { migrateToLatest } from '../../db/migrate.js'

export interface TestDatabase extends DatabaseHandle {
  /** The Postgres schema (undefined on PGlite). */
  schema?: string
  databaseUrl?: string
}

interface Teardown {
  teardown(fn: () => unknown): void
}

export async function createTestDatabase(t: Teardown): Promise<TestDatabase> {
  const databaseUrl = process.env.DATABASE_URL || undefined
  const schema = databaseUrl ? `t_${randomBytes(6).toString('hex')}` : undefined
  const handle = await openDatabase({ databaseUrl, schema, dataDir: 'memory://', poolSize: 5 })
  await migrateToLatest(handle.db)
  t.teardown(async () => {
    await handle.close()
    if (databaseUrl && schema) {
      const client = new pg.Client({ connectionString: databaseUrl })
      await client.connect()
      await client.query(`drop schema if exists "${schema}" cascade`)
      await client.end()
    }
  })
  return { ...handle, schema, databaseUrl }
}
