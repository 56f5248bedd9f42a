// Provides app.cacheInsights (src/cache-insights.ts), fed by the report
// cache's events and by the invalidation events: what GET /cache/insights
// and the dashboard show.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { onCacheEvent } from '../src/cache/cache-events.js'
import { CacheInsights } from '../src/cache-insights.js'
import { onInvalidation } from '../src/invalidation-events.js'

declare module 'fastify' {
  interface FastifyInstance {
    cacheInsights: CacheInsights
  }
}

async function cacheInsights(app: FastifyInstance): Promise<void> {
  const insights = new CacheInsights()
  app.decorate('cacheInsights', insights)
  const unobserve = onCacheEvent(app.reportCache, (e) => {
    if (e.type === 'result') insights.recordResult(Number(e.tenantId), e.key, e.kind, e.result, e.bytes)
    else if (e.ok) insights.recordCompute(Number(e.tenantId), e.key, e.kind, e.seconds)
  })
  const unsubscribe = onInvalidation(app.invalidation, (e) => insights.recordInvalidation(e))
  app.addHook('onClose', async () => {
    unobserve()
    unsubscribe()
  })
}

export default fp(cacheInsights, { name: 'cache-insights', dependencies: ['report-cache', 'invalidation'] })
