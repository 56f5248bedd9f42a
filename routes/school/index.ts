// School data routes (API.md "Mutations" and its read table), one file per
// route family; each registers its own authentication hook.
import type { FastifyInstance } from 'fastify'
import assignmentRoutes from './assignments.js'
import classRoutes from './classes.js'
import enrollmentRoutes from './enrollments.js'
import materialProgressRoutes from './material-progress.js'
import meRoutes from './me.js'
import relationshipRoutes from './relationships.js'
import submissionRoutes from './submissions.js'
import userRoutes from './users.js'

export default async function schoolRoutes(app: FastifyInstance): Promise<void> {
  await app.register(meRoutes)
  await app.register(userRoutes)
  await app.register(classRoutes)
  await app.register(assignmentRoutes)
  await app.register(submissionRoutes)
  await app.register(materialProgressRoutes)
  await app.register(enrollmentRoutes)
  await app.register(relationshipRoutes)
}
