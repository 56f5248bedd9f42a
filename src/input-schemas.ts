// The shapes of client input, shared by every route: ids within Postgres
// `integer`, URL integers in canonical decimal, real dates within 1970–9999.
// Nothing is coerced (app.ts turns ajv's coercion off): a JSON number field
// takes a JSON number, a string field a string. Strings in the URL are the one
// exception, by necessity: a `UrlInteger` is checked as text by its pattern and
// converted to a number once, here, by the `x-url-integer` keyword.
import type { FastifyServerOptions } from 'fastify'
import { type TUnsafe, Type } from 'typebox'

/** Largest value of a Postgres `integer` (int4, serial) column. */
export const MAX_INT4 = 2_147_483_647

/** A JSON id: a positive integer within int4, so a huge id is a 400, not a database error. */
export const Id = Type.Integer({ minimum: 1, maximum: MAX_INT4 })

/** Canonical decimal: no sign, exponent, hex, leading zero, space or fraction. */
const CANONICAL_INTEGER = '^(0|[1-9][0-9]{0,9})$'
const CANONICAL = new RegExp(CANONICAL_INTEGER)

interface UrlIntegerRange {
  minimum: number
  maximum: number
}

/**
 * An integer written in the URL (path or query): validated as text, then
 * handed to the route as a number. Documented as a string with its pattern,
 * which is what it is on the wire.
 */
export function UrlInteger(
  range: UrlIntegerRange = { minimum: 1, maximum: MAX_INT4 },
  options: { description?: string } = {},
): TUnsafe<number> {
  return Type.Unsafe<number>({
    type: 'string',
    pattern: CANONICAL_INTEGER,
    'x-url-integer': range,
    description: options.description ?? `A decimal integer from ${range.minimum} to ${range.maximum}`,
  })
}

/** An id in the URL: canonical decimal within 1..2147483647. */
export const UrlId = UrlInteger()

/** `true` or `false` in the query string, handed to the route as a boolean. */
export function UrlBoolean(options: { description?: string } = {}): TUnsafe<boolean> {
  return Type.Unsafe<boolean>({
    type: 'string',
    pattern: '^(true|false)$',
    'x-url-boolean': true,
    ...options,
  })
}

const MIN_YEAR = 1970
const MAX_YEAR = 9999
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** A real calendar day (no 2024-02-30) within the years 1970–9999. */
export function isRealDate(year: number, month: number, day: number): boolean {
  if (year < MIN_YEAR || year > MAX_YEAR) return false
  const date = new Date(Date.UTC(year, month - 1, day))
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
}

/** RFC 3339 §5.6 date-time with a time zone, a real date within 1970–9999. */
export function isDateTime(value: string): boolean {
  const m = DATE_TIME.exec(value)
  if (!m) return false
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6])]
  if (hour > 23 || minute > 59 || second > 59) return false
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return false
  return isRealDate(Number(m[1]), Number(m[2]), Number(m[3]))
}

/** YYYY-MM-DD, a real date within 1970–9999. */
export function isDate(value: string): boolean {
  const m = DATE.exec(value)
  return m !== null && isRealDate(Number(m[1]), Number(m[2]), Number(m[3]))
}

export const DateTime = Type.String({
  format: 'date-time',
  description: 'RFC 3339 date-time with a time zone, years 1970–9999',
})

/** Fastify's ajv instance (ajv itself is Fastify's dependency, not ours). */
type FastifyAjv = Parameters<NonNullable<NonNullable<FastifyServerOptions['ajv']>['onCreate']>>[0]

interface DataContext {
  parentData: Record<string, unknown>
  parentDataProperty: string | number
}

type KeywordValidate = { errors?: object[] }

function fail(validate: KeywordValidate, keyword: string, message: string): false {
  validate.errors = [{ keyword, message, params: {} }]
  return false
}

/**
 * The keywords behind UrlInteger and UrlBoolean, and the date and date-time
 * formats narrowed to real dates of years 1970–9999 (Postgres has no year 0).
 * Fastify's `ajv.onCreate`: it runs after ajv-formats, whose formats it replaces.
 */
export function inputAjvPlugin(ajv: FastifyAjv): void {
  ajv.addKeyword({
    keyword: 'x-url-integer',
    // After the type check, before `pattern`, so a bad value gets this message.
    type: 'string',
    before: 'pattern',
    schemaType: 'object',
    modifying: true,
    errors: true,
    validate: function validate(
      range: UrlIntegerRange,
      data: unknown,
      _schema: unknown,
      cxt?: DataContext,
    ): boolean {
      const self = validate as KeywordValidate
      if (typeof data !== 'string' || !CANONICAL.test(data)) {
        return fail(self, 'x-url-integer', 'must be a decimal integer (digits only, no leading zero)')
      }
      const value = Number(data)
      if (value < range.minimum || value > range.maximum) {
        return fail(self, 'x-url-integer', `must be between ${range.minimum} and ${range.maximum}`)
      }
      if (cxt) cxt.parentData[cxt.parentDataProperty] = value
      return true
    },
  })
  ajv.addKeyword({
    keyword: 'x-url-boolean',
    type: 'string',
    before: 'pattern',
    schemaType: 'boolean',
    modifying: true,
    errors: true,
    validate: function validate(_on: boolean, data: unknown, _schema: unknown, cxt?: DataContext): boolean {
      if (data !== 'true' && data !== 'false') {
        return fail(validate as KeywordValidate, 'x-url-boolean', 'must be true or false')
      }
      if (cxt) cxt.parentData[cxt.parentDataProperty] = data === 'true'
      return true
    },
  })
  ajv.addFormat('date-time', { type: 'string', validate: isDateTime })
  ajv.addFormat('date', { type: 'string', validate: isDate })
}
