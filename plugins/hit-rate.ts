// Provides app.hitRate: how report GETs were answered (HIT, MISS, STALE, BYPASS,
// 304, coalesced), per tenant and report type, in time buckets, from the report
// cache's events (src/cache/cache-events.ts; warming is not counted). Counted in
// process; with Redis, flushed at most once a second into shared buckets so
// GET /cache/hit-rate sums every instance. With the memory store: this process.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { onCacheEvent } from '../src/cache/cache-events.js'
import { answerOf, HitRateRecorder } from '../src/cache/hit-rate.js'
import { RedisHitRateSink } from '../src/cache/hit-rate-redis.js'
import { reasonOf } from '../src/redis-state.js'

export interface HitRateOptions {
  /** The app's Redis key prefix (shared by the instances whose figures are summed). */
  redisPrefix: string
  flushIntervalMs?: number
}

declare module 'fastify' {
  interface FastifyInstance {
    hitRate: HitRateRecorder
  }
}

async function hitRate(app: FastifyInstance, opts: HitRateOptions): Promise<void> {
  const sink = app.hasDecorator('redis') ? new RedisHitRateSink(app.redis, opts.redisPrefix) : undefined
  const recorder = new HitRateRecorder({
    sink,
    flushIntervalMs: opts.flushIntervalMs,
    // While Redis is down the flush fails every second: the down line says so once.
    onError: (err, operation) => {
      if (app.hasDecorator('redisState')) app.redisState.failure(err)
      const down = app.hasDecorator('redisState') && (app.redisState.isDown || app.redis.status !== 'ready')
      if (down) app.log.debug({ reason: reasonOf(err), operation }, 'cache.hit_rate.failure')
      else app.log.warn({ err, operation }, 'cache.hit_rate.failure')
    },
  })
  app.decorate('hitRate', recorder)
  const unsubscribe = onCacheEvent(app.reportCache, (e) => {
    if (e.type === 'result' && !e.warming)
      recorder.record(e.tenantId, e.kind, answerOf(e.result, e.notModified))
  })
  app.addHook('onClose', async () => unsubscribe())
  recorder.start()
  // Runs before the redis plugin's onClose (hooks close in reverse order), so the last counts land.
  app.addHook('onClose', async () => recorder.close())
}

export default fp(hitRate, { name: 'hit-rate', dependencies: ['redis', 'report-cache'] })
