// GET /classes and GET /classes/:id: what the caller may read (canReadClass).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { canReadClass } from '../../src/access/viewer.js'
import { Forbidden, NotFound } from '../../src/errors.js'
import { Nullable } from '../../src/response-schemas.js'
import { classDetail, findClass, listReadableClasses } from '../../src/school/classes.js'
import { authErrors, DateTime, Id, IdParams, NoQuery, readErrors } from './schemas.js'

const TeacherId = Nullable(Id)

const ClassListSchema = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Id,
      name: Type.String(),
      teacher_id: TeacherId,
      student_count: Type.Integer({ minimum: 0 }),
    }),
  ),
})

const ClassDetailSchema = Type.Object({
  id: Id,
  name: Type.String(),
  teacher_id: TeacherId,
  students: Type.Array(Type.Object({ id: Id, name: Type.String() })),
  assignments: Type.Array(
    Type.Object({ id: Id, title: Type.String(), max_score: Type.Number(), due_at: DateTime }),
  ),
  materials: Type.Array(Type.Object({ id: Id, title: Type.String() })),
})

const classRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)

  app.get(
    '/classes',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: 'Classes the caller may read, by id',
        description:
          'Admin: every class of the tenant; teacher: its classes; student, parent, tutor: the classes of the students it sees.',
        response: { 200: ClassListSchema, ...authErrors },
      },
    },
    async (request) => ({ items: await listReadableClasses(app.db, await request.viewer()) }),
  )

  app.get(
    '/classes/:id',
    {
      schema: {
        tags: ['school'],
        querystring: NoQuery,
        summary: 'One class with its students, assignments (by due date) and materials',
        params: IdParams,
        response: { 200: ClassDetailSchema, ...readErrors },
      },
    },
    async (request) => {
      const { id } = request.params
      const klass = await findClass(app.db, request.principal.tenantId, id)
      if (!klass) throw new NotFound(`Class ${id}`)
      if (!canReadClass(await request.viewer(), id)) throw new Forbidden('You may not read this class')
      return classDetail(app.db, klass)
    },
  )
}

export default classRoutes
