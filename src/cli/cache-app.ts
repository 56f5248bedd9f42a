// The app the cache commands run on: built like the server's (same plugins,
// cache, reader, hit-rate buckets, Redis prefix) but never listening. Only
// Redis is shared with running servers; without REDIS_URL each server keeps
// its cache in its own memory, which no other process can reach.
import type { App } from '../app.js'
import { buildApp } from '../app.js'
import { type Config, loadConfig } from '../config.js'
import type { CliIo } from './command.js'
import { type AccessMode, withDatabase } from './database.js'

export async function withCacheApp<T>(
  io: CliIo,
  mode: AccessMode,
  fn: (app: App, config: Config) => Promise<T>,
): Promise<T> {
  const config = loadConfig(io.env)
  if (!config.redisUrl && !config.redisClusterNodes) {
    throw new Error(
      'this command needs REDIS_URL (or REDIS_CLUSTER_NODES): without Redis every server keeps its cache in its own memory ' +
        '(use the /cache routes of the server instead)',
    )
  }
  return withDatabase(config, mode, async (db) => {
    // Warnings and errors only, on stderr: stdout carries the command's answer.
    const app = await buildApp({ config, db, logger: { level: 'error', stream: io.stderr } })
    try {
      await app.ready()
      // Figures or bumps from an unreachable Redis would look real and be wrong: fail instead.
      if (app.redis.status !== 'ready') {
        const reason = app.redisState.lastReason
        throw new Error(
          `Redis at ${app.redisState.host} is unreachable${reason ? ` (${reason.code ?? reason.message})` : ''}: nothing was read or changed`,
        )
      }
      return await fn(app, config)
    } finally {
      await app.close()
    }
  })
}

/** The tenant's first admin: cache work is done with an admin's access, as the API does. */
export async function tenantAdmin(app: App, tenantId: number): Promise<number | undefined> {
  const row = await app.db
    .selectFrom('users')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('role', '=', 'admin')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst()
  return row?.id
}
