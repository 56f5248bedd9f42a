// Schemas shared by the /cache routes (API.md "Cache operations").
import { Type } from 'typebox'

export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  code: Type.String(),
  message: Type.String(),
})

export const adminErrors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema }

export const NoQuery = Type.Object({}, { additionalProperties: false })

export const ReportId = Type.Integer({ minimum: 1, maximum: 2_147_483_647 })
