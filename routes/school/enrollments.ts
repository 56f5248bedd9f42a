// Enrollments: add a student to a class, remove one (class teacher or admin).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { createEnrollment, deleteEnrollment } from '../../src/school/enrollments.js'
import { mutate } from '../mutate.js'
import { DateTime, Id, NoQuery, readErrors, UrlId, writeErrors } from './schemas.js'

const CreateBody = Type.Object({ class_id: Id, student_id: Id }, { additionalProperties: false })

const EnrollmentParams = Type.Object({ class_id: UrlId, student_id: UrlId }, { additionalProperties: false })

const EnrollmentSchema = Type.Object({ class_id: Id, student_id: Id, created_at: DateTime })

const enrollmentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)

  app.post(
    '/enrollments',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: 'Enroll a student in a class (class teacher or admin)',
        description: 'student_id must be a student of the tenant; enrolling twice is a 409 CONFLICT.',
        body: CreateBody,
        response: { 201: EnrollmentSchema, ...writeErrors },
      },
    },
    async (request, reply) => {
      const created = await mutate(reply, 'enrollment.create', (trx) =>
        createEnrollment(trx, request.principal, request.body),
      )
      // RFC 9110 §15.3.2: Location names the new enrollment (the URL that deletes it).
      return reply
        .code(201)
        .header('location', `/enrollments/${created.class_id}/${created.student_id}`)
        .send(created)
    },
  )

  app.delete(
    '/enrollments/:class_id/:student_id',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: 'Remove a student from a class (class teacher or admin)',
        description:
          'The student loses access through the class on the very next request. 404 if not enrolled.',
        params: EnrollmentParams,
        response: { 204: Type.Null(), ...readErrors },
      },
    },
    async (request, reply) => {
      const { class_id, student_id } = request.params
      await mutate(reply, 'enrollment.delete', (trx) =>
        deleteEnrollment(trx, request.principal, class_id, student_id),
      )
      return reply.code(204).send(null)
    },
  )
}

export default enrollmentRoutes
