// Provides app.reportCache (the tag-versioned get-or-compute cache over Redis
// or a bounded in-memory LRU) and app.reportReader (reads a report through it).
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { TaggedCache } from '../src/cache/cache.js'
import { MemoryStore } from '../src/cache/memory-store.js'
import { RedisStore } from '../src/cache/redis-store.js'
import type { CacheStore } from '../src/cache/store.js'
import { ReportReader } from '../src/reports/report-reader.js'

export interface ReportCacheOptions {
  redisPrefix: string
  maxEntries: number
  maxBytes: number
  maxEntryBytes: number
  tenantMaxBytes: number
  userMaxBytes: number
}

declare module 'fastify' {
  interface FastifyInstance {
    /** For /health: `disabled` with the memory store, `down` while Redis is skipped. */
    cacheBackendStatus(): 'up' | 'down' | 'disabled'
    reportCache: TaggedCache
    reportReader: ReportReader
  }
}

async function reportCache(app: FastifyInstance, opts: ReportCacheOptions): Promise<void> {
  const store: CacheStore = app.hasDecorator('redis')
    ? new RedisStore({
        client: app.redis,
        prefix: opts.redisPrefix,
        maxEntryBytes: opts.maxEntryBytes,
        tenantMaxBytes: opts.tenantMaxBytes,
        ownerMaxBytes: opts.userMaxBytes,
        onError: (err, operation) =>
          app.log.debug({ err: { message: err.message }, operation }, 'cache.redis.failure'),
      })
    : new MemoryStore({
        maxEntries: opts.maxEntries,
        maxBytes: opts.maxBytes,
        maxEntryBytes: opts.maxEntryBytes,
        tenantMaxBytes: opts.tenantMaxBytes,
        ownerMaxBytes: opts.userMaxBytes,
      })

  const cache = new TaggedCache({
    store,
    maxEntryBytes: opts.maxEntryBytes,
    onError: (err, context) =>
      app.log.warn({ err: { message: (err as Error).message }, ...context }, 'cache.store.failure'),
  })
  app.decorate('reportCache', cache)
  // For /health: Redis is "down" while the store skips it (breaker open,
  // connection lost, or invalidations still waiting to be delivered).
  app.decorate('cacheBackendStatus', (): 'up' | 'down' | 'disabled' => {
    if (store.backend === 'memory') return 'disabled'
    return store.health() === 'operational' ? 'up' : 'down'
  })
  app.decorate('reportReader', new ReportReader(app.db, cache, app.cachePolicy))

  app.addHook('onClose', async () => {
    await cache.idle()
    // The Redis client itself is closed by the redis plugin.
    await store.close()
  })
}

export default fp(reportCache, {
  name: 'report-cache',
  dependencies: ['db', 'redis', 'ttl-policy'],
})
