// Assignments: read one (whoever may read its class); create, update and
// delete (the class's teacher or an admin).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { canReadClass } from '../../src/access/viewer.js'
import { Forbidden, NotFound } from '../../src/errors.js'
import {
  createAssignment,
  deleteAssignment,
  findAssignment,
  updateAssignment,
} from '../../src/school/assignments.js'
import { MAX_SCORE } from '../../src/school/common.js'
import { mutate } from '../mutate.js'
import { AssignmentSchema, DateTime, Id, IdParams, NoQuery, readErrors, writeErrors } from './schemas.js'

// numeric(10, 2) holds up to 99,999,999.99; a scale of a million is plenty. The
// column rounds to 2 decimals and must stay > 0, so the least is 0.01 (and an
// inclusive minimum is also what OpenAPI 3.0 can say).
const MaxScore = Type.Number({ minimum: 0.01, maximum: MAX_SCORE })
const Title = Type.String({ minLength: 1, maxLength: 200 })

const CreateBody = Type.Object(
  { class_id: Id, title: Title, max_score: MaxScore, due_at: DateTime },
  { additionalProperties: false },
)

const PatchBody = Type.Object(
  { title: Type.Optional(Title), max_score: Type.Optional(MaxScore), due_at: Type.Optional(DateTime) },
  { additionalProperties: false, minProperties: 1 },
)

const assignmentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)

  app.get(
    '/assignments/:id',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: 'One assignment',
        params: IdParams,
        response: { 200: AssignmentSchema, ...readErrors },
      },
    },
    async (request) => {
      const { id } = request.params
      const assignment = await findAssignment(app.db, request.principal.tenantId, id)
      if (!assignment) throw new NotFound(`Assignment ${id}`)
      if (!canReadClass(await request.viewer(), assignment.class_id)) {
        throw new Forbidden('You may not read this assignment')
      }
      const { teacher_id: _, ...body } = assignment
      return body
    },
  )

  app.post(
    '/assignments',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: 'Create an assignment (class teacher or admin)',
        description: 'Answers 201 with the assignment and its Location.',
        body: CreateBody,
        response: { 201: AssignmentSchema, ...writeErrors },
      },
    },
    async (request, reply) => {
      const created = await mutate(reply, 'assignment.create', (trx) =>
        createAssignment(trx, request.principal, request.body),
      )
      // RFC 9110 §15.3.2: 201 identifies the new resource with Location.
      return reply.code(201).header('location', `/assignments/${created.id}`).send(created)
    },
  )

  app.patch(
    '/assignments/:id',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: 'Change title, max_score and/or due_at (class teacher or admin)',
        description: 'At least one field. A max_score below a score already given is a 409 CONFLICT.',
        params: IdParams,
        body: PatchBody,
        response: { 200: AssignmentSchema, ...writeErrors },
      },
    },
    async (request, reply) =>
      mutate(reply, 'assignment.update', (trx) =>
        updateAssignment(trx, request.principal, request.params.id, request.body),
      ),
  )

  app.delete(
    '/assignments/:id',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: 'Delete an assignment and its submissions (class teacher or admin)',
        params: IdParams,
        response: { 204: Type.Null(), ...readErrors },
      },
    },
    async (request, reply) => {
      await mutate(reply, 'assignment.delete', (trx) =>
        deleteAssignment(trx, request.principal, request.params.id),
      )
      return reply.code(204).send(null)
    },
  )
}

export default assignmentRoutes
