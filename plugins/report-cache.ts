// Provides app.reportCache (the tag-versioned get-or-compute cache over Redis
// or a bounded in-memory LRU) and app.reportReader (reads a report through it).
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { TaggedCache } from '../src/cache/cache.js'
import { MemoryStore } from '../src/cache/memory-store.js'
import { RedisStore } from '../src/cache/redis-store.js'
import { type CacheStore, StoreUnavailableError } from '../src/cache/store.js'
import { reasonOf } from '../src/redis-state.js'
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
        // The in-process copies of served bodies share the memory store's bound (CACHE_MAX_BYTES).
        bodyCopyMaxBytes: opts.maxBytes,
        // One line when the breaker opens or closes; each failure is counted
        // (report_cache_store_errors_total) and logged at debug only.
        breaker: {
          onStateChange: (state) => {
            if (state === 'open') app.redisState.down()
            else if (state === 'closed') app.redisState.up()
          },
        },
        onError: (err, operation) => {
          app.redisState.failure(err)
          app.log.debug({ reason: reasonOf(err), operation }, 'cache.redis.failure')
        },
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
    // A store that is unavailable is Redis being down (logged once by redisState);
    // anything else is unexpected and logged in full.
    onError: (err, context) => {
      if (err instanceof StoreUnavailableError)
        app.log.debug({ reason: reasonOf(err), ...context }, 'cache.store.failure')
      else app.log.warn({ err, ...context }, 'cache.store.failure')
    },
  })
  app.decorate('reportCache', cache)
  // For /health: Redis is "down" while the store skips it (breaker open,
  // connection lost, or invalidations still waiting to be delivered).
  app.decorate('cacheBackendStatus', (): 'up' | 'down' | 'disabled' => {
    if (store.backend === 'memory') return 'disabled'
    return store.health() === 'operational' ? 'up' : 'down'
  })
  app.decorate('reportReader', new ReportReader(app.db, cache, app.cachePolicy, app.replica ?? undefined))

  app.addHook('onClose', async () => {
    await cache.idle()
    // The Redis client itself is closed by the redis plugin.
    await store.close()
  })
}

export default fp(reportCache, {
  name: 'report-cache',
  dependencies: ['db', 'replica', 'redis', 'ttl-policy'],
})
