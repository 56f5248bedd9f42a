// A writer outside the API: raw SQL through a connection of its own (not the
// app's pool), as psql, an import or another service would write. PGlite has
// one connection, so there it is the world's handle.
import { sql } from 'kysely'
import pg from 'pg'
import type { TestDatabase } from './database.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

export type Run = (statement: string) => Promise<void>

export async function outsider(t: Teardown, db: TestDatabase): Promise<Run> {
  if (!db.databaseUrl) return async (statement) => void (await sql.raw(statement).execute(db.db))
  const client = new pg.Client({ connectionString: db.databaseUrl, options: `-c search_path=${db.schema}` })
  await client.connect()
  t.teardown(() => client.end())
  return async (statement) => void (await client.query(statement))
}
