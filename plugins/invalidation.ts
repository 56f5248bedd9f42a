// Provides app.invalidate(tags, reason): called by mutation routes after their
// transaction commits and before they respond, so that no later read anywhere
// sees data older than the change. Until a cache is registered it only logs.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export type Invalidator = (tags: readonly string[], reason: string) => Promise<void>

declare module 'fastify' {
  interface FastifyInstance {
    invalidate: Invalidator
  }
}

async function invalidation(app: FastifyInstance): Promise<void> {
  app.decorate<Invalidator>('invalidate', async (tags, reason) => {
    app.log.debug({ tags, reason }, 'cache.invalidate')
  })
}

export default fp(invalidation, { name: 'invalidation' })
