// Placeholder: report routes (issue 2).
import type { FastifyInstance } from 'fastify'
export default async function reportRoutes(_app: FastifyInstance): Promise<void> {}
