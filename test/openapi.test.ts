// /docs/json is a valid OpenAPI 3.0.3 document for two independent validators
// (0 errors), and says what a client needs: an operationId per route, the
// error responses each route gives, 304 where an ETag is served, a description
// per response, no required parameter that has a default.

import { readFileSync } from 'node:fs'
import SwaggerParser from '@apidevtools/swagger-parser'
import { Validator } from '@seriousme/openapi-schema-validator'
import t from 'tap'
import { buildTestApp } from './helpers/app.js'
import { createTestDatabase } from './helpers/database.js'

type Json = Record<string, unknown>
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']

t.test('the OpenAPI document validates and is complete', async (t) => {
  const db = await createTestDatabase(t)
  const app = await buildTestApp(t, db)
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(res.statusCode, 200)
  const doc = res.json() as Json
  t.equal(doc.openapi, '3.0.3')

  const validator = new Validator()
  const result = await validator.validate(structuredClone(doc))
  t.same(result.errors ?? [], [], '@seriousme/openapi-schema-validator: 0 errors')
  t.equal(result.valid, true)
  // swagger-parser also resolves every $ref and checks parameters against paths.
  await t.resolves(
    SwaggerParser.validate(structuredClone(doc) as never),
    '@apidevtools/swagger-parser: valid',
  )

  const paths = doc.paths as Record<string, Record<string, Json>>
  const ops = Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]) => ({ method, path, op })),
  )
  t.ok(ops.length > 30, `${ops.length} operations`)
  const ids = ops.map(({ op }) => op.operationId)
  t.ok(
    ids.every((id) => typeof id === 'string' && id.length > 0),
    'an operationId per route',
  )
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique')

  const responses = (method: string, path: string) =>
    (paths[path]?.[method]?.responses ?? {}) as Record<string, { description?: string }>
  const defaults = ops.flatMap(({ method, path, op }) =>
    Object.entries(op.responses as Record<string, { description?: string }>)
      .filter(([, r]) => !r.description || r.description === 'Default Response')
      .map(([status]) => `${method} ${path} ${status}`),
  )
  t.same(defaults, [], 'every response is described')

  for (const path of ['/reports', '/reports/{id}', '/classes', '/me', '/classes/{id}', '/users']) {
    t.ok(responses('get', path)['304'], `GET ${path} documents 304`)
  }
  t.notOk(responses('get', '/health')['304'], 'GET /health: no 304')
  for (const [method, path, statuses] of [
    ['get', '/reports/{id}', ['400', '401', '403', '404', '503']],
    ['patch', '/reports/{id}', ['400', '401', '403', '404', '412', '503']],
    ['delete', '/reports/{id}', ['401', '404', '412', '503']],
    ['post', '/enrollments', ['400', '401', '403', '409', '503']],
    ['get', '/cache/stats', ['401', '403', '503']],
    ['get', '/health', ['200', '503']],
  ] as const) {
    for (const status of statuses)
      t.ok(responses(method, path)[status], `${method.toUpperCase()} ${path} documents ${status}`)
  }

  const requiredWithDefault = ops.flatMap(({ method, path, op }) =>
    ((op.parameters as Json[] | undefined) ?? [])
      .filter((p) => p.required === true && (p.schema as Json | undefined)?.default !== undefined)
      .map((p) => `${method} ${path} ${p.name}`),
  )
  t.same(requiredWithDefault, [], 'no parameter with a default is required')
  const limit = ((paths['/reports']?.get?.parameters as Json[]) ?? []).find((p) => p.name === 'limit')
  t.ok(limit, 'GET /reports has limit')
  t.not(limit?.required, true, 'limit is not required')

  t.notMatch(
    JSON.stringify(doc),
    /"exclusive(Minimum|Maximum)":\s*-?\d/,
    'no numeric exclusive bounds (3.0.3 wants booleans)',
  )

  // fast-json-stringify serializes anyOf/oneOf/if by running a validator on
  // the value, compiled on first use: nullable fields say `nullable: true`
  // (src/response-schemas.ts) and closed string sets `enum`.
  const branching = ops.flatMap(({ method, path, op }) =>
    Object.entries(op.responses as Record<string, Json>)
      .filter(([, r]) => /"(anyOf|oneOf|if)":/.test(JSON.stringify(r.content ?? {})))
      .map(([status]) => `${method} ${path} ${status}`),
  )
  t.same(branching, [], 'no response schema branches (anyOf, oneOf, if)')
})

t.test('docs/API.md and the OpenAPI document list the same routes', async (t) => {
  const db = await createTestDatabase(t)
  const app = await buildTestApp(t, db)
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as {
    paths: Record<string, Record<string, unknown>>
  }
  const inOpenApi = new Set(
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => METHODS.includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    ),
  )
  const text = readFileSync(new URL('../docs/API.md', import.meta.url), 'utf8')
  const inDocs = new Set(
    [...text.matchAll(/`(GET|HEAD|POST|PUT|PATCH|DELETE) (\/[^`?\s]*)[^`]*`/g)].map(
      ([, method, path]) => `${method} ${path.replace(/:([a-z_]+)/g, '{$1}')}`,
    ),
  )
  const ignored = new Set(['GET /docs', 'GET /docs/json']) // the UI, hidden from the document
  t.same(
    [...inDocs].filter((r) => !inOpenApi.has(r) && !ignored.has(r)),
    [],
    'every documented route exists',
  )
  t.same(
    [...inOpenApi].filter((r) => !inDocs.has(r)),
    [],
    'every route is documented in docs/API.md',
  )
})
