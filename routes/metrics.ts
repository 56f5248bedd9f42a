// GET /metrics: Prometheus text exposition of this instance (app.metrics).
// Unauthenticated, like /health: restrict it at the network edge (README).
import type { FastifyInstance } from 'fastify'

export default async function metricsRoute(app: FastifyInstance): Promise<void> {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['service'],
        summary: 'Prometheus metrics of this instance (text format 0.0.4)',
        security: [],
        produces: ['text/plain'],
      },
    },
    async (_request, reply) => {
      const { registry } = app.metrics
      const text = await registry.metrics()
      return reply.header('cache-control', 'no-store').type(registry.contentType).send(text)
    },
  )
}
