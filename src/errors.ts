// The error catalogue: one code per condition, thrown by the domain (and by the
// framework hooks in src/error-handler.ts) and shaped once by the error handler.
// Besides these, Fastify's own client errors keep their FST_ERR_* codes
// (FST_ERR_VALIDATION, FST_ERR_CTP_INVALID_JSON_BODY, FST_ERR_CTP_BODY_TOO_LARGE,
// FST_ERR_CTP_INVALID_MEDIA_TYPE, …): API.md names them as part of the contract.
import createError from '@fastify/error'

export const Unauthorized = createError('UNAUTHORIZED', '%s', 401)
export const Forbidden = createError('FORBIDDEN', '%s', 403)
export const ReportNotFound = createError('REPORT_NOT_FOUND', 'Report %s not found', 404)
export const NotFound = createError('NOT_FOUND', '%s not found', 404)
export const RouteNotFound = createError('ROUTE_NOT_FOUND', 'Route %s %s not found', 404)
export const InvalidFilter = createError('INVALID_FILTER', '%s', 400)
export const InvalidParams = createError('INVALID_PARAMS', '%s', 400)
export const InvalidBody = createError('INVALID_BODY', '%s', 400)
/** Input the schemas cannot express (e.g. a NUL anywhere in a string); same code as schema errors. */
export const InvalidInput = createError('FST_ERR_VALIDATION', '%s', 400)
export const BadUrl = createError('BAD_URL', 'The URL is not validly percent-encoded', 400)
export const UriTooLong = createError(
  'URI_TOO_LONG',
  'A segment of the URL path is longer than %s characters',
  414,
)
export const Conflict = createError('CONFLICT', '%s', 409)
export const PreconditionFailed = createError('PRECONDITION_FAILED', '%s', 412)
export const InternalError = createError('INTERNAL_ERROR', 'Internal Server Error', 500)
export const DatabaseUnavailable = createError(
  'DATABASE_UNAVAILABLE',
  'The database is unavailable, try again later',
  503,
)
