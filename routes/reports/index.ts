// Report definition routes (registered with prefix /reports): list, create,
// read, change, delete. The computed result (GET/HEAD /reports/:id) is
// result.ts. Thin: the domain is in src/reports/.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { ReportRow } from '../../db/database.js'
import { evaluatePreconditions } from '../../src/cache/conditional.js'
import { InvalidBody, PreconditionFailed } from '../../src/errors.js'
import { Id, UrlInteger } from '../../src/input-schemas.js'
import { toJson } from '../../src/reports/definitions.js'
import {
  type ChangeOptions,
  createReportFor,
  deleteReportFor,
  listReportsFor,
  readReportFor,
  updateReportFor,
} from '../../src/reports/manage-reports.js'
import { Nullable } from '../../src/response-schemas.js'
import { mutate } from '../mutate.js'
import { ErrorSchema, errors, IdParams, Params, ReportTypeSchema } from './schemas.js'

const NoQuery = Type.Object({}, { additionalProperties: false })
const Title = Type.String({ minLength: 1, maxLength: 200 })
const PreconditionFailedSchema = Type.Object(ErrorSchema.properties, {
  description:
    'If-Match, If-None-Match or If-Unmodified-Since failed against the definition: nothing changed',
})

/**
 * A definition's strong validator (RFC 9110 §8.8.3): every change bumps the
 * revision and ids are never reused, so (id, revision) identifies the exact
 * definition. It validates `GET /reports/:id/definition`, not the computed
 * result, whose ETag is a hash of the result's bytes.
 */
export function definitionEtag(row: Pick<ReportRow, 'id' | 'revision'>): string {
  return `"def-${row.id}-${row.revision}"`
}

/**
 * A response whose content is the definition: its validator and, since the
 * request's target is another resource, where that representation lives
 * (RFC 9110 §8.7: Content-Location names the resource the content represents).
 */
function sendDefinition(reply: FastifyReply, row: ReportRow) {
  return reply
    .header('etag', definitionEtag(row))
    .header('content-location', `/reports/${row.id}/definition`)
    .send(toJson(row))
}

/**
 * RFC 9110 §13.1.1-§13.1.4 on PATCH/DELETE, evaluated in §13.2.2's order by
 * evaluatePreconditions against the locked row, inside the transaction, so no
 * other change can slip in between the check and the write. Any failure on an
 * unsafe method is 412 (§15.5.13), and the transaction changes nothing.
 */
function definitionPreconditions(request: FastifyRequest): ChangeOptions {
  const { 'if-match': ifMatch, 'if-none-match': ifNoneMatch } = request.headers
  const ifUnmodifiedSince = request.headers['if-unmodified-since']
  if (ifMatch === undefined && ifNoneMatch === undefined && ifUnmodifiedSince === undefined) return {}
  return {
    precondition: (row) => {
      const outcome = evaluatePreconditions({
        method: request.method,
        ifMatch,
        ifNoneMatch,
        ifUnmodifiedSince,
        etag: definitionEtag(row),
        lastModified: new Date(row.updated_at).getTime(),
      })
      if (outcome !== 'proceed') {
        throw new PreconditionFailed(`report ${row.id} does not match the request's preconditions`)
      }
    },
  }
}

const ConditionalHeaders = Type.Object(
  {
    'if-match': Type.Optional(
      Type.String({ description: 'ETag of GET /reports/{id}/definition (or *): change only that version' }),
    ),
    'if-none-match': Type.Optional(
      Type.String({ description: '* (or a definition ETag): 412 when the definition exists (matches)' }),
    ),
    'if-unmodified-since': Type.Optional(Type.String({ description: 'HTTP-date, against updated_at' })),
  },
  { additionalProperties: true },
)

const definitionHeaders = {
  etag: { type: 'string', description: "The definition's strong validator, for If-Match on PATCH/DELETE" },
  'content-location': { type: 'string', description: '/reports/{id}/definition' },
}

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
/** The definition as the content of a response that carries its ETag (documented headers). */
const DefinitionResponse = Type.Object(DefinitionSchema.properties, { headers: definitionHeaders })

const ListQuery = Type.Object(
  {
    type: Type.Optional(ReportTypeSchema),
    limit: Type.Optional(UrlInteger({ minimum: 1, maximum: 100 }, { description: '1 to 100, default 50' })),
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
            next_cursor: Nullable(Type.String()),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { items, nextCursor } = await listReportsFor(app.db, await request.viewer(), {
        ...request.query,
        limit: request.query.limit ?? 50,
      })
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
        response: { 201: DefinitionResponse, ...errors },
      },
    },
    async (request, reply) => {
      const viewer = await request.viewer()
      const created = await mutate(reply, 'report.create', (trx) =>
        createReportFor(trx, viewer, request.body),
      )
      // RFC 9110 §15.3.2: 201 identifies the new resource with Location.
      return sendDefinition(reply.code(201).header('location', `/reports/${created.id}`), created)
    },
  )

  app.get(
    '/:id/definition',
    {
      schema: {
        tags: ['reports'],
        summary: 'The stored definition with its ETag (use it in If-Match on PATCH/DELETE /reports/{id})',
        params: IdParams,
        querystring: NoQuery,
        response: { 200: DefinitionResponse, ...errors },
      },
    },
    async (request, reply) => {
      const row = await readReportFor(app.db, await request.viewer(), request.params.id)
      // The generic conditional GET (plugins/http-cache.ts) answers If-None-Match against this ETag.
      return sendDefinition(reply, row)
    },
  )

  app.patch(
    '/:id',
    {
      schema: {
        tags: ['reports'],
        summary: 'Change the title and/or params (admin, or the creator)',
        description:
          'Optimistic concurrency (RFC 9110 §13.1): If-Match with the ETag of GET /reports/{id}/definition ' +
          'changes only that version; If-None-Match: * refuses when the definition exists. A failed ' +
          'precondition is 412 and changes nothing. The response carries the new definition ETag.',
        params: IdParams,
        querystring: NoQuery,
        headers: ConditionalHeaders,
        body: PatchBody,
        response: { 200: DefinitionResponse, ...errors, 412: PreconditionFailedSchema },
      },
    },
    async (request, reply) => {
      const { title, params } = request.body
      if (title === undefined && params === undefined)
        throw new InvalidBody('body must include title or params')
      const viewer = await request.viewer()
      const updated = await mutate(reply, 'report.update', (trx) =>
        updateReportFor(trx, viewer, request.params.id, { title, params }, definitionPreconditions(request)),
      )
      return sendDefinition(reply, updated)
    },
  )

  app.delete(
    '/:id',
    {
      schema: {
        tags: ['reports'],
        summary: 'Delete a report definition (admin, or the creator)',
        description:
          'If-Match with the ETag of GET /reports/{id}/definition deletes only that version (RFC 9110 ' +
          '§13.1.1); a failed precondition is 412 and deletes nothing.',
        params: IdParams,
        querystring: NoQuery,
        headers: ConditionalHeaders,
        response: { 204: Type.Null(), ...errors, 412: PreconditionFailedSchema },
      },
    },
    async (request, reply) => {
      const viewer = await request.viewer()
      await mutate(reply, 'report.delete', (trx) =>
        deleteReportFor(trx, viewer, request.params.id, definitionPreconditions(request)),
      )
      return reply.code(204).send(null)
    },
  )
}

export default reportRoutes
