// Schemas shared by the report routes (definitions and results): they feed
// validation and the OpenAPI document.
import { Type } from 'typebox'
import { Id, UrlId } from '../../src/input-schemas.js'
import { REPORT_TYPE_NAMES } from '../../src/reports/registry.js'
import { UnauthorizedSchema } from '../school/schemas.js'

export const IdParams = Type.Object({ id: UrlId }, { additionalProperties: false })
export const ReportTypeSchema = Type.Enum([...REPORT_TYPE_NAMES])
export const Params = Type.Object(
  {},
  {
    additionalProperties: true,
    description:
      'By type: student_progress {student_id}; grade_distribution {class_id} or {assignment_id}; ' +
      'analytics {} or {class_ids}; custom {metric, group_by, where?}',
  },
)

export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  code: Type.String(),
  message: Type.String(),
})
export const errors = { 400: ErrorSchema, 401: UnauthorizedSchema, 403: ErrorSchema, 404: ErrorSchema }

export const resultHeaders = {
  etag: { type: 'string', description: 'Strong validator: a hash of the exact body bytes' },
  'last-modified': { type: 'string', description: 'generated_at as an HTTP-date' },
  'cache-control': {
    type: 'string',
    description: 'From the type policy: private, max-age=0, must-revalidate by default',
  },
  vary: { type: 'string', description: 'Authorization' },
  'x-cache': { type: 'string', enum: ['HIT', 'MISS', 'BYPASS', 'STALE'] },
}

export const ResultSchema = Type.Object({
  id: Id,
  type: ReportTypeSchema,
  title: Type.String(),
  params: Params,
  filters: Type.Object({}, { additionalProperties: true }),
  generated_at: Type.String({ format: 'date-time' }),
  data: Type.Object({}, { additionalProperties: true }),
})
