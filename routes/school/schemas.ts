// Schemas shared by the school-data routes: ids, timestamps, error bodies and
// the resources' response shapes (they also feed the OpenAPI document).
import { Type } from 'typebox'
import { ROLES } from '../../db/database.js'
import { DateTime, Id, UrlId } from '../../src/input-schemas.js'
import { Nullable } from '../../src/response-schemas.js'

export { DateTime, Id, UrlId }

export const RoleSchema = Type.Enum([...ROLES])

export const IdParams = Type.Object({ id: UrlId }, { additionalProperties: false })

export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  code: Type.String(),
  message: Type.String(),
})

/** The identity rule (docs/identity.md), in the OpenAPI document of every authenticated route. */
export const UnauthorizedSchema = Type.Object(ErrorSchema.properties, {
  description:
    "Missing, invalid or expired token, or one whose user no longer exists or whose role or tenant claim disagrees with the user's record (the record decides; a change takes effect on the next request). Carries WWW-Authenticate: Bearer.",
})

/** Error responses every authenticated route can give. */
export const authErrors = { 401: UnauthorizedSchema, 403: ErrorSchema }
export const readErrors = { ...authErrors, 400: ErrorSchema, 404: ErrorSchema }
export const writeErrors = { ...readErrors, 409: ErrorSchema }

export const AssignmentSchema = Type.Object({
  id: Id,
  class_id: Id,
  title: Type.String(),
  max_score: Type.Number(),
  due_at: DateTime,
})

export const SubmissionSchema = Type.Object({
  id: Id,
  assignment_id: Id,
  student_id: Id,
  submitted_at: DateTime,
  score: Nullable(Type.Number()),
  graded_at: Nullable(DateTime),
})

/** Routes without query parameters still reject unknown ones (API.md: never silently ignored). */
export const NoQuery = Type.Object({}, { additionalProperties: false })
