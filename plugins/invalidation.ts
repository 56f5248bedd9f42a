// Provides app.invalidate(tenantId, tags, reason): called by mutation routes
// after their transaction commits and before they respond. It advances the
// versions of the touched tags in the shared cache, so that no later read on
// any instance is served an entry computed before the change.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { publishInvalidation } from '../src/invalidation-events.js'

export type Invalidator = (tenantId: number, tags: readonly string[], reason: string) => Promise<void>

declare module 'fastify' {
  interface FastifyInstance {
    invalidate: Invalidator
  }
}

async function invalidation(app: FastifyInstance): Promise<void> {
  app.decorate<Invalidator>('invalidate', async (tenantId, tags, reason) => {
    const outcome = await app.reportCache.invalidate(tenantId, tags)
    publishInvalidation({ tenantId, tags, reason, delivered: outcome.delivered })
    if (outcome.delivered) {
      app.log.debug({ tenantId, tags, reason }, 'cache.invalidate')
    } else {
      // The store keeps the bump and serves nothing of the tenant until it lands.
      app.log.warn({ tenantId, tags, reason }, 'cache.invalidate.deferred')
    }
  })
}

export default fp(invalidation, { name: 'invalidation', dependencies: ['report-cache'] })
