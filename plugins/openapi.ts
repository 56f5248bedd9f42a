// The OpenAPI 3.0.3 document (/docs/json, UI at /docs), completed centrally
// from the routes' own schemas so route files stay about their behaviour:
// - an operationId per route (from method and path);
// - the error responses each route can give (400/401/403/404/409/412/503),
//   and 304 on GETs answered with an ETag, unless the route declares them;
// - a description per response instead of "Default Response";
// - parameters with a default are not required;
// - draft-07 numeric exclusiveMinimum/Maximum rewritten to the OpenAPI 3.0
//   boolean form (3.0.3 §4.7.24 takes them from JSON Schema draft-wright-00).
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

type Json = Record<string, unknown>

const REASON: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content: done, nothing to return',
  304: 'Not Modified: the If-None-Match ETag is current (RFC 9110 §15.4.5); no body, same caching headers as the 200',
  400: 'Bad Request: a parameter, query value or body field is invalid (the message names it)',
  401: 'Unauthorized: missing, invalid or expired bearer token',
  403: 'Forbidden: the caller may not do this inside its tenant',
  404: "Not Found: no such resource in the caller's tenant",
  409: 'Conflict: the change contradicts the current data',
  412: 'Precondition Failed: If-Match does not match the current ETag; nothing changed',
  503: 'Service Unavailable: the database is unreachable; try again later',
}

/** Routes that answer without a token and without the database (no 401/403/503 from us). */
const PUBLIC = new Set(['/health', '/metrics', '/cache/dashboard'])
/** GETs that never carry an ETag: probes and the dashboard page. */
const NO_ETAG = new Set(['/health', '/metrics', '/cache/dashboard'])
/** Routes whose writes can conflict with existing rows (unique links, enrolments, submissions). */
const CONFLICTS = /^\/(enrollments|guardians|tutor-links|submissions|assignments)/

/** On the 2xx of every mutation whose change the invalidation log records (docs/invalidation.md). */
const PENDING_NOTE =
  'The change is committed before the reply; the reply waits (INVALIDATION_WAIT_MS, default 2 s) until ' +
  'cached reports it affects are invalidated on every instance. Past that bound the reply is the same 2xx ' +
  'with `X-Invalidation: pending`: the invalidation is recorded in the database and delivered later, and ' +
  'reads may be older than this change until then (docs/invalidation.md).'

const ERROR_SCHEMA: Json = {
  type: 'object',
  required: ['statusCode', 'error', 'code', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    code: { type: 'string', description: 'Stable machine-readable code, e.g. VALIDATION_ERROR' },
    message: { type: 'string' },
  },
}

function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((part) => {
      const param = /^\{(.+)\}$/.exec(part)
      const word = (param ? `by-${param[1]}` : part).replace(
        /[^a-zA-Z0-9]+(.)?/g,
        (_m, c: string | undefined) => (c ? c.toUpperCase() : ''),
      )
      return word.charAt(0).toUpperCase() + word.slice(1)
    })
  return `${method.toLowerCase()}${words.join('') || 'Root'}`
}

/** Error responses a route can give, from what it takes and who may call it. */
function expectedStatuses(method: string, path: string, op: Json): string[] {
  const statuses: string[] = []
  const params = (op.parameters as Json[] | undefined) ?? []
  const hasInput = params.length > 0 || op.requestBody !== undefined
  const isPublic =
    PUBLIC.has(path) || path.startsWith('/docs') || (Array.isArray(op.security) && op.security.length === 0)
  if (method === 'get' && !NO_ETAG.has(path) && !path.startsWith('/docs')) statuses.push('304')
  if (hasInput) statuses.push('400')
  if (!isPublic) statuses.push('401', '403')
  if (path.includes('{')) statuses.push('404')
  if (method !== 'get' && method !== 'head' && CONFLICTS.test(path)) statuses.push('409')
  // If-Match on a report definition (RFC 9110 §13.1.1).
  if ((method === 'patch' || method === 'delete') && path === '/reports/{id}') statuses.push('412')
  if (!isPublic || path === '/health') statuses.push('503')
  return statuses
}

/** Writes of school data and report definitions, and the cache's DELETEs: their tags go through the invalidation log. */
function isLoggedMutation(method: string, path: string): boolean {
  if (path.startsWith('/cache')) return method === 'delete'
  return ['post', 'put', 'patch', 'delete'].includes(method)
}

/** Numeric (draft-06+) exclusive bounds → the OpenAPI 3.0 boolean form. */
function fixSchema(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) fixSchema(item)
    return
  }
  if (node === null || typeof node !== 'object') return
  const schema = node as Json
  for (const [bound, limit] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    const value = schema[bound]
    if (typeof value === 'number') {
      schema[limit] = value
      schema[bound] = true
    }
  }
  for (const value of Object.values(schema)) fixSchema(value)
}

export function completeDocument(doc: Json): Json {
  const components = ((doc.components as Json | undefined) ?? {}) as Json
  const schemas = ((components.schemas as Json | undefined) ?? {}) as Json
  schemas.Error ??= ERROR_SCHEMA
  components.schemas = schemas
  doc.components = components
  const paths: Record<string, Record<string, Json>> = {}
  for (const [raw, item] of Object.entries(
    (doc.paths as Record<string, Record<string, Json>> | undefined) ?? {},
  )) {
    // A prefix's root route ('/reports/') answers at '/reports' too: document the form clients use.
    const path = raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw
    paths[path] = { ...paths[path], ...item }
  }
  doc.paths = paths
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, shared] of Object.entries(item)) {
      if (typeof shared !== 'object' || shared === null || method === 'parameters') continue
      // GET and HEAD of one route share their operation object: give each its own.
      const op = structuredClone(shared)
      item[method] = op
      if (method === 'head' || typeof op.operationId !== 'string') op.operationId = operationId(method, path)
      for (const p of (op.parameters as Json[] | undefined) ?? []) {
        const schema = p.schema as Json | undefined
        if (p.in !== 'path' && schema?.default !== undefined) p.required = false
      }
      const responses = ((op.responses as Record<string, Json> | undefined) ?? {}) as Record<string, Json>
      for (const status of expectedStatuses(method, path, op)) {
        if (responses[status]) continue
        responses[status] =
          status === '304'
            ? { description: REASON[status] }
            : {
                description: REASON[status],
                content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
              }
      }
      for (const [status, response] of Object.entries(responses)) {
        if (!response.description || response.description === 'Default Response') {
          response.description = REASON[status] ?? `HTTP ${status}`
        }
      }
      if (isLoggedMutation(method, path)) {
        for (const [status, response] of Object.entries(responses)) {
          if (!status.startsWith('2')) continue
          const headers = ((response.headers as Json | undefined) ?? {}) as Json
          headers['X-Invalidation'] = {
            description: PENDING_NOTE,
            schema: { type: 'string', enum: ['pending'] },
          }
          response.headers = headers
        }
      }
      op.responses = responses
    }
  }
  fixSchema(doc)
  return doc
}

async function openapi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Report service',
        version: '0.1.0',
        description: 'School reports with a never-stale cache. Contract: docs/API.md in the repository.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
    transformObject: (documentObject) => {
      const doc =
        'openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject
      return completeDocument(doc as Json) as typeof doc
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
}

export default fp(openapi, { name: 'openapi' })
