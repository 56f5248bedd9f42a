// The error catalogue: one code per condition, thrown by the domain and shaped
// once by the error handler (src/error-handler.ts).
import createError from '@fastify/error'

export const Unauthorized = createError('UNAUTHORIZED', '%s', 401)
export const Forbidden = createError('FORBIDDEN', '%s', 403)
export const ReportNotFound = createError('REPORT_NOT_FOUND', 'Report %s not found', 404)
export const NotFound = createError('NOT_FOUND', '%s not found', 404)
export const InvalidFilter = createError('INVALID_FILTER', '%s', 400)
export const InvalidParams = createError('INVALID_PARAMS', '%s', 400)
export const InvalidBody = createError('INVALID_BODY', '%s', 400)
export const Conflict = createError('CONFLICT', '%s', 409)
export const PreconditionFailed = createError('PRECONDITION_FAILED', '%s', 412)
export const DatabaseUnavailable = createError(
  'DATABASE_UNAVAILABLE',
  'The database is unavailable, try again later',
  503,
)
