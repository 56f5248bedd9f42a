// Submissions: read one; create (the student itself, its teacher, an admin);
// grade and delete (the class's teacher or an admin).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { Forbidden, NotFound } from '../../src/errors.js'
import { MAX_SCORE } from '../../src/school/common.js'
import {
  canReadSubmission,
  createSubmission,
  deleteSubmission,
  findSubmission,
  gradeSubmission,
} from '../../src/school/submissions.js'
import { mutate } from '../mutate.js'
import { DateTime, Id, IdParams, NoQuery, readErrors, SubmissionSchema, writeErrors } from './schemas.js'

const CreateBody = Type.Object(
  {
    assignment_id: Id,
    student_id: Id,
    submitted_at: Type.Optional({ ...DateTime, description: 'Defaults to now' }),
  },
  { additionalProperties: false },
)

// A type list, not anyOf: with coercion on, anyOf would turn null into 0 (or 0 into null).
const GradeBody = Type.Object(
  {
    score: Type.Unsafe<number | null>({
      type: ['number', 'null'],
      minimum: 0,
      maximum: MAX_SCORE,
      description: "0 to the assignment's max_score (stored with 2 decimals); null ungrades",
    }),
  },
  { additionalProperties: false },
)

const submissionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)

  app.get(
    '/submissions/:id',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: 'One submission',
        description:
          "Admin: all; teacher: its classes' submissions; student, parent, tutor: those of the students it sees.",
        params: IdParams,
        response: { 200: SubmissionSchema, ...readErrors },
      },
    },
    async (request) => {
      const { id } = request.params
      const ctx = await findSubmission(app.db, request.principal.tenantId, id)
      if (!ctx) throw new NotFound(`Submission ${id}`)
      if (!canReadSubmission(await request.viewer(), ctx)) {
        throw new Forbidden('You may not read this submission')
      }
      return ctx.submission
    },
  )

  app.post(
    '/submissions',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: 'Create a submission',
        description:
          "Students for themselves, teachers for their classes, admins for anyone. The student must be enrolled in the assignment's class (else 400 naming body.student_id); a second submission for the same assignment and student is a 409 CONFLICT.",
        body: CreateBody,
        response: { 201: SubmissionSchema, ...writeErrors },
      },
    },
    async (request, reply) => {
      const created = await mutate(reply, 'submission.create', (trx) =>
        createSubmission(trx, request.principal, request.body),
      )
      // RFC 9110 §15.3.2: 201 identifies the new resource with Location.
      return reply.code(201).header('location', `/submissions/${created.id}`).send(created)
    },
  )

  app.patch(
    '/submissions/:id',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: 'Grade (or with null ungrade) a submission (class teacher or admin)',
        description: 'Sets graded_at to now, or to null when ungrading.',
        params: IdParams,
        body: GradeBody,
        response: { 200: SubmissionSchema, ...readErrors },
      },
    },
    async (request, reply) =>
      mutate(reply, 'submission.grade', (trx) =>
        gradeSubmission(trx, request.principal, request.params.id, request.body.score),
      ),
  )

  app.delete(
    '/submissions/:id',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: 'Delete a submission (class teacher or admin)',
        params: IdParams,
        response: { 204: Type.Null(), ...readErrors },
      },
    },
    async (request, reply) => {
      await mutate(reply, 'submission.delete', (trx) =>
        deleteSubmission(trx, request.principal, request.params.id),
      )
      return reply.code(204).send(null)
    },
  )
}

export default submissionRoutes
