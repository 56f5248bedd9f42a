// Schemas shared by the /cache routes (API.md "Cache operations").
import { Type } from 'typebox'
import { Id, UrlId } from '../../src/input-schemas.js'
import { UnauthorizedSchema } from '../school/schemas.js'

export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  code: Type.String(),
  message: Type.String(),
})

export const adminErrors = { 400: ErrorSchema, 401: UnauthorizedSchema, 403: ErrorSchema, 404: ErrorSchema }

export const NoQuery = Type.Object({}, { additionalProperties: false })

/** A report id in a JSON body. */
export const ReportId = Id
/** A report id in the path. */
export const ReportIdParam = UrlId
