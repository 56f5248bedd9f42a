// Report routes (registered with prefix /reports): definitions CRUD and the
// computed result. Thin: the domain is in src/reports/.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type Static, Type } from 'typebox'
import { InvalidBody } from '../../src/errors.js'
import { toJson } from '../../src/reports/definitions.js'
import { FiltersQuerySchema } from '../../src/reports/filters.js'
import {
  createReportFor,
  deleteReportFor,
  listReportsFor,
  updateReportFor,
} from '../../src/reports/manage-reports.js'
import { REPORT_TYPE_NAMES } from '../../src/reports/registry.js'
import { tag } from '../../src/reports/tags.js'
import { sendReport } from './send-report.js'

const Id = Type.Integer({ minimum: 1, maximum: 2_147_483_647 })
const IdParams = Type.Object({ id: Id }, { additionalProperties: false })
const NoQuery = Type.Object({}, { additionalProperties: false })
const ReportTypeSchema = Type.Enum([...REPORT_TYPE_NAMES])
const Title = Type.String({ minLength: 1, maxLength: 200 })
const Params = Type.Object(
  {},
  {
    additionalProperties: true,
    description:
      'By type: student_progress {student_id}; grade_distribution {class_id} or {assignment_id}; ' +
      'analytics {} or {class_ids}; custom {metric, group_by, where?}',
  },
)

const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  code: Type.String(),
  message: Type.String(),
})
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema }

const DefinitionSchema = Type.Object({
  id: Id,
  type: ReportTypeSchema,
  title: Type.String(),
  params: Params,
  created_by: Id,
  revision: Type.Integer(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})

const ListQuery = Type.Object(
  {
    type: Type.Optional(ReportTypeSchema),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'next_cursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
)

const CreateBody = Type.Object(
  { type: ReportTypeSchema, title: Title, params: Params },
  { additionalProperties: false },
)

const PatchBody = Type.Object(
  { title: Type.Optional(Title), params: Type.Optional(Params) },
  { additionalProperties: false },
)

const ResultSchema = Type.Object({
  id: Id,
  type: ReportTypeSchema,
  title: Type.String(),
  params: Params,
  filters: Type.Object({}, { additionalProperties: true }),
  generated_at: Type.String({ format: 'date-time' }),
  data: Type.Object({}, { additionalProperties: true }),
})

const reportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)

  app.get(
    '/',
    {
      schema: {
        tags: ['reports'],
        summary: 'Report definitions visible to the caller, in id order',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            items: Type.Array(DefinitionSchema),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { items, nextCursor } = await listReportsFor(app.db, await request.viewer(), request.query)
      return { items: items.map(toJson), next_cursor: nextCursor }
    },
  )

  app.post(
    '/',
    {
      schema: {
        tags: ['reports'],
        summary: 'Create a report definition (one the caller may see)',
        querystring: NoQuery,
        body: CreateBody,
        response: { 201: DefinitionSchema, ...errors },
      },
    },
    async (request, reply) => {
      const created = await createReportFor(app.db, await request.viewer(), request.body)
      // RFC 9110 §15.3.2: 201 identifies the new resource with Location.
      return reply.code(201).header('location', `/reports/${created.id}`).send(toJson(created))
    },
  )

  app.get(
    '/:id',
    {
      schema: {
        tags: ['reports'],
        summary: 'The report computed now, with the given filters (HEAD: same headers, no body)',
        params: IdParams,
        querystring: FiltersQuerySchema,
        response: { 200: ResultSchema, ...errors },
      },
    },
    async (request, reply) => {
      const outcome = await app.reportReader.read({
        principal: request.principal,
        reportId: request.params.id,
        query: request.query,
        ifNoneMatch: request.headers['if-none-match'],
      })
      return sendReport(request, reply, outcome, app.cachePolicy.get(outcome.type))
    },
  )

  app.patch(
    '/:id',
    {
      schema: {
        tags: ['reports'],
        summary: 'Change the title and/or params (admin, or the creator)',
        params: IdParams,
        querystring: NoQuery,
        body: PatchBody,
        response: { 200: DefinitionSchema, ...errors },
      },
    },
    async (request) => {
      const { title, params } = request.body
      if (title === undefined && params === undefined)
        throw new InvalidBody('body must include title or params')
      const updated = await updateReportFor(app.db, await request.viewer(), request.params.id, {
        title,
        params,
      })
      await app.invalidate(request.principal.tenantId, [tag.report(updated.id)], 'report.update')
      return toJson(updated)
    },
  )

  app.delete(
    '/:id',
    {
      schema: {
        tags: ['reports'],
        summary: 'Delete a report definition (admin, or the creator)',
        params: IdParams,
        querystring: NoQuery,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await deleteReportFor(app.db, await request.viewer(), request.params.id)
      await app.invalidate(request.principal.tenantId, [tag.report(request.params.id)], 'report.delete')
      return reply.code(204).send(null)
    },
  )
}

export default reportRoutes
