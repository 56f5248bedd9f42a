// Validation messages that name the offending field: `body.score must be <= 10`,
// `querystring.foo is not an allowed parameter`.
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'

const FORMATS: Record<string, string> = {
  'date-time': 'an RFC 3339 date-time with a time zone, a real date within years 1970-9999',
  date: 'a date YYYY-MM-DD, a real date within years 1970-9999',
}

function fieldPath(error: FastifySchemaValidationError, dataVar: string): string {
  const path = (error.instancePath ?? '')
    .split('/')
    .filter(Boolean)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
  const params = error.params as Record<string, unknown>
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    path.push(params.additionalProperty)
  }
  if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
    path.push(params.missingProperty)
  }
  return [dataVar, ...path].join('.')
}

function describe(error: FastifySchemaValidationError, dataVar: string): string {
  const field = fieldPath(error, dataVar)
  const unknownKind = dataVar === 'querystring' ? 'an allowed query parameter' : 'an allowed field'
  switch (error.keyword) {
    case 'additionalProperties':
      return `${field} is not ${unknownKind}`
    case 'required':
      return `${field} is required`
    case 'type':
      // Query values are strings, so a non-string is a repeated parameter (an array).
      if (dataVar === 'querystring' && (error.params as { type?: unknown }).type === 'string')
        return `${field} must be a single value`
      return `${field} ${error.message ?? 'is invalid'}`
    case 'format':
      return `${field} must be ${FORMATS[String((error.params as { format?: unknown }).format)] ?? 'valid'}`
    default:
      return `${field} ${error.message ?? 'is invalid'}`
  }
}

export function schemaErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  // Unions report one error per branch; the first is the most telling.
  return new Error(describe(errors[0], dataVar))
}
