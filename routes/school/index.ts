// Placeholder: school data routes (issue 2).
import type { FastifyInstance } from 'fastify'
export default async function schoolRoutes(_app: FastifyInstance): Promise<void> {}
