// The report types by name, and the one place params are checked: against
// the type's schema, then for entities of the caller's tenant.

import { Compile, type Validator } from 'typebox/compile'
import type { TLocalizedValidationError } from 'typebox/error'
import type { Db } from '../../db/database.js'
import { InvalidParams } from '../errors.js'
import { analytics } from './analytics.js'
import { custom } from './custom.js'
import { gradeDistribution } from './grade-distribution.js'
import { studentProgress } from './student-progress.js'
import type { ReportTypeDefinition, ReportTypeName } from './types.js'

/** A definition whose params type is erased; params are checked by validateReportParams first. */
export type AnyReportType = ReportTypeDefinition<Record<string, unknown>>

function erase<P>(definition: ReportTypeDefinition<P>): AnyReportType {
  return definition as unknown as AnyReportType
}

export const reportTypes: Readonly<Record<ReportTypeName, AnyReportType>> = {
  student_progress: erase(studentProgress),
  grade_distribution: erase(gradeDistribution),
  analytics: erase(analytics),
  custom: erase(custom),
}

export const REPORT_TYPE_NAMES = Object.keys(reportTypes) as ReportTypeName[]

export function reportType(name: ReportTypeName): AnyReportType {
  return reportTypes[name]
}

const validators = new Map<ReportTypeName, Validator>(
  REPORT_TYPE_NAMES.map((name) => [name, Compile(reportTypes[name].paramsSchema)]),
)

function fieldOf(error: TLocalizedValidationError): string {
  const path = error.instancePath.split('/').filter(Boolean)
  const params = error.params as Record<string, unknown>
  if (error.keyword === 'additionalProperties' && Array.isArray(params.additionalProperties)) {
    path.push(String(params.additionalProperties[0]))
  }
  if (error.keyword === 'required' && Array.isArray(params.requiredProperties)) {
    path.push(String(params.requiredProperties[0]))
  }
  return ['params', ...path].join('.')
}

/** One message naming the field, in the style of src/validation.ts. */
function describe(errors: TLocalizedValidationError[]): string {
  // An unknown field explains the other errors it causes (e.g. "schema is false").
  const error =
    errors.find((e) => e.keyword === 'additionalProperties') ??
    errors.find((e) => e.keyword !== 'boolean') ??
    errors[0]
  const field = fieldOf(error)
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'additionalProperties':
      return `${field} is not an allowed field`
    case 'required':
      return `${field} is required`
    case 'enum':
      return `${field} must be one of ${(params.allowedValues as unknown[]).join(', ')}`
    default:
      return `${field} ${error.message}`
  }
}

/**
 * Checks params for a report of the given type: the type's schema, then the
 * entities they name (in the tenant). Throws INVALID_PARAMS naming the field.
 */
export async function validateReportParams(
  db: Db,
  tenantId: number,
  type: ReportTypeName,
  params: unknown,
): Promise<Record<string, unknown>> {
  const validator = validators.get(type)!
  if (!validator.Check(params)) throw new InvalidParams(describe(validator.Errors(params)))
  const checked = params as Record<string, unknown>
  await reportTypes[type].validateParams(db, tenantId, checked)
  return checked
}
