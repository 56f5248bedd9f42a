// Provides the input rules no single schema states: every route rejects
// unknown query parameters (a route without a querystring schema gets an
// empty one, the framework's routes such as /docs included), and no string
// anywhere in the input holds a NUL (Postgres text and jsonb cannot store one).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import { InvalidInput } from '../src/errors.js'

const NoQuery = Type.Object({}, { additionalProperties: false })
const MAX_DEPTH = 64

/** The path of the first string (or key) holding a NUL, e.g. `body.params.where`; undefined if none. */
export function findNul(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNul(value[i], `${path}.${i}`, depth + 1)
      if (found) return found
    }
    return undefined
  }
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return path
    const found = findNul(item, `${path}.${key}`, depth + 1)
    if (found) return found
  }
  return undefined
}

async function checkNul(request: FastifyRequest): Promise<void> {
  const found =
    findNul(request.params, 'params') ??
    findNul(request.query, 'querystring') ??
    findNul(request.body, 'body')
  if (found) throw new InvalidInput(`${found} must not contain a NUL character`)
}

async function inputGuard(app: FastifyInstance): Promise<void> {
  app.addHook('onRoute', (route) => {
    route.schema ??= {}
    route.schema.querystring ??= NoQuery
  })
  // Before schema validation, so the message names the NUL rather than a later rule.
  app.addHook('preValidation', checkNul)
}

export default fp(inputGuard, { name: 'input-guard' })
