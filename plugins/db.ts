// Provides app.db (Kysely over pg or PGlite) and runs migrations at start.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import { type DatabaseHandle, type OpenOptions, openDatabase } from '../db/connect.js'
import type { Database } from '../db/database.js'
import { migrateToLatest } from '../db/migrate.js'

export interface DbPluginOptions extends OpenOptions {
  /** Use an already open database (tests share one); it is not closed on app close. */
  handle?: DatabaseHandle
  migrate?: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
    dbHandle: DatabaseHandle
  }
}

async function dbPlugin(app: FastifyInstance, opts: DbPluginOptions): Promise<void> {
  const owned = !opts.handle
  const handle = opts.handle ?? (await openDatabase(opts))
  if (opts.migrate !== false) await migrateToLatest(handle.db)
  app.decorate('db', handle.db)
  app.decorate('dbHandle', handle)
  if (owned) app.addHook('onClose', () => handle.close())
}

export default fp(dbPlugin, { name: 'db' })
