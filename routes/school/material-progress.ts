// PUT /material-progress: record a student's progress on a material (upsert).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { putMaterialProgress } from '../../src/school/material-progress.js'
import { mutate } from '../mutate.js'
import { DateTime, Id, NoQuery, writeErrors } from './schemas.js'

const PutBody = Type.Object(
  { material_id: Id, student_id: Id, percent: Type.Number({ minimum: 0, maximum: 100 }) },
  { additionalProperties: false },
)

const ProgressSchema = Type.Object({
  material_id: Id,
  student_id: Id,
  percent: Type.Number(),
  updated_at: DateTime,
})

const materialProgressRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)

  app.put(
    '/material-progress',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: "Set a student's progress on a material (the student, the class teacher or an admin)",
        description:
          "Creates or replaces the (material, student) row and answers 200 with it. The student must be enrolled in the material's class.",
        body: PutBody,
        response: { 200: ProgressSchema, ...writeErrors },
      },
    },
    async (request, reply) =>
      mutate(reply, 'material-progress.put', (trx) =>
        putMaterialProgress(trx, request.principal, request.body),
      ),
  )
}

export default materialProgressRoutes
