// GET /health: liveness of the service and its backing stores.
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'

const startedAt = Date.now()

const HealthSchema = Type.Object({
  status: Type.Enum(['ok', 'degraded', 'down']),
  postgres: Type.Enum(['up', 'down']),
  redis: Type.Enum(['up', 'down', 'disabled']),
  /** Only with DATABASE_REPLICA_URL: whether report computations may use the replica. */
  replica: Type.Optional(Type.Enum(['up', 'down', 'lagging'])),
  uptime_s: Type.Number(),
})

export default async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/health',
    {
      schema: {
        tags: ['service'],
        summary: 'Liveness of the service, Postgres, Redis and the read replica',
        security: [],
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (_request, reply) => {
      const postgres = (await app.dbHandle.ping()) ? 'up' : 'down'
      const redis = app.cacheBackendStatus()
      const replica = app.replica?.state
      // Reports can be served while Postgres is up; Redis and the replica only take load off it.
      const status =
        postgres === 'down'
          ? 'down'
          : redis === 'down' || (replica !== undefined && replica !== 'up')
            ? 'degraded'
            : 'ok'
      reply.header('cache-control', 'no-store')
      return reply.status(postgres === 'up' ? 200 : 503).send({
        status,
        postgres,
        redis,
        ...(replica === undefined ? {} : { replica }),
        uptime_s: Math.round((Date.now() - startedAt) / 1000),
      })
    },
  )
}
