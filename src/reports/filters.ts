// Report filters (query string of GET /reports/:id): validated and normalised
// once, so that `?to=..&from=..` and `?from=..&to=..` give the same filters,
// the same body and (later) the same cache key.
import { type RawBuilder, type SqlBool, sql } from 'kysely'
import { Type } from 'typebox'
import { InvalidFilter } from '../errors.js'
import { isDate, MAX_INT4 } from '../input-schemas.js'
import type { ReportFilters, ReportTypeName } from './types.js'

export const DEFAULT_GRANULARITY = 'week'

/**
 * Query string schema: every value is a string here and checked by
 * normaliseFilters, so that each bad value gets an INVALID_FILTER naming it;
 * unknown parameters are rejected by `additionalProperties: false`.
 */
export const FiltersQuerySchema = Type.Object(
  {
    from: Type.Optional(
      Type.String({ description: 'First day, YYYY-MM-DD (UTC), inclusive, on submission time' }),
    ),
    to: Type.Optional(
      Type.String({ description: 'Last day, YYYY-MM-DD (UTC), inclusive, on submission time' }),
    ),
    class_id: Type.Optional(
      Type.String({ description: 'Restrict the data to one class (positive integer)' }),
    ),
    granularity: Type.Optional(
      Type.String({ description: 'Analytics only: `week` (default) or `month` periods, in UTC' }),
    ),
  },
  { additionalProperties: false },
)

const FILTER_KEYS = new Set(['from', 'to', 'class_id', 'granularity'])
/** Canonical decimal, like every id in a URL (src/input-schemas.ts). */
const CANONICAL_ID = /^[1-9][0-9]{0,9}$/

/** A real calendar date YYYY-MM-DD within 1970–9999 (no 2024-02-30), or null. */
function parseDate(value: string): string | null {
  return isDate(value) ? value : null
}

function stringValue(key: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidFilter(`querystring.${key} must be a single value`)
  return value
}

/**
 * Validates raw query values for a report of the given type and returns them
 * normalised: keys in sorted order, defaults applied (granularity `week` for
 * analytics). Throws INVALID_FILTER naming the field.
 */
export function normaliseFilters(
  type: ReportTypeName,
  raw: Readonly<Record<string, unknown>>,
): ReportFilters {
  for (const key of Object.keys(raw)) {
    if (!FILTER_KEYS.has(key)) throw new InvalidFilter(`querystring.${key} is not an allowed query parameter`)
  }
  let from: string | undefined
  let to: string | undefined
  let classId: number | undefined
  let granularity: ReportFilters['granularity']

  if (raw.from !== undefined) {
    from = parseDate(stringValue('from', raw.from)) ?? undefined
    if (!from) throw new InvalidFilter('querystring.from must be a date YYYY-MM-DD')
  }
  if (raw.to !== undefined) {
    to = parseDate(stringValue('to', raw.to)) ?? undefined
    if (!to) throw new InvalidFilter('querystring.to must be a date YYYY-MM-DD')
  }
  // YYYY-MM-DD strings compare like the dates they name.
  if (from && to && from > to) throw new InvalidFilter('querystring.to must not be before querystring.from')

  if (raw.class_id !== undefined) {
    const text = stringValue('class_id', raw.class_id)
    // Canonical decimal only ("007", "+7", "7e0" are refused); ids are Postgres integers.
    classId = CANONICAL_ID.test(text) ? Number(text) : Number.NaN
    if (!(classId >= 1 && classId <= MAX_INT4)) {
      throw new InvalidFilter('querystring.class_id must be a positive integer')
    }
  }

  if (raw.granularity !== undefined) {
    if (type !== 'analytics') {
      throw new InvalidFilter('querystring.granularity applies to analytics reports only')
    }
    const value = stringValue('granularity', raw.granularity)
    if (value !== 'week' && value !== 'month') {
      throw new InvalidFilter('querystring.granularity must be week or month')
    }
    granularity = value
  } else if (type === 'analytics') {
    granularity = DEFAULT_GRANULARITY
  }

  // Built in sorted key order: the body shows the filters exactly so.
  const filters: ReportFilters = {}
  if (classId !== undefined) filters.class_id = classId
  if (from !== undefined) filters.from = from
  if (granularity !== undefined) filters.granularity = granularity
  if (to !== undefined) filters.to = to
  return filters
}

/** Stable JSON of normalised filters (sorted keys, no undefined): the filters part of a cache key. */
export function canonicalFilters(filters: ReportFilters): string {
  const entries = Object.entries(filters)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return JSON.stringify(Object.fromEntries(entries))
}

/**
 * `from`/`to` as a condition on a timestamptz column: `column >= from` and
 * `column < to + 1 day`, both at midnight UTC (the dates are inclusive).
 * Constant bounds, so an index on the column can serve the range.
 */
export function submittedInRange(column: string, filters: ReportFilters): RawBuilder<SqlBool> {
  const ref = sql.ref(column)
  const conditions: RawBuilder<unknown>[] = []
  if (filters.from) conditions.push(sql`${ref} >= ((${filters.from}::date)::timestamp at time zone 'UTC')`)
  if (filters.to) conditions.push(sql`${ref} < ((${filters.to}::date + 1)::timestamp at time zone 'UTC')`)
  return conditions.length === 0 ? sql<SqlBool>`true` : sql<SqlBool>`(${sql.join(conditions, sql` and `)})`
}

/**
 * `from`/`to` as a condition on a UTC day column of a summary: the same rows
 * as submittedInRange on their submitted_at, since the filters are whole dates.
 */
export function dayInRange(column: string, filters: ReportFilters): RawBuilder<SqlBool> {
  const ref = sql.ref(column)
  const conditions: RawBuilder<unknown>[] = []
  if (filters.from) conditions.push(sql`${ref} >= ${filters.from}::date`)
  if (filters.to) conditions.push(sql`${ref} <= ${filters.to}::date`)
  return conditions.length === 0 ? sql<SqlBool>`true` : sql<SqlBool>`(${sql.join(conditions, sql` and `)})`
}

/** First day of the month after `date`'s (YYYY-MM-DD, UTC). */
function nextMonthStart(date: string): string {
  const d = new Date(`${date.slice(0, 7)}-01T00:00:00Z`)
  d.setUTCMonth(d.getUTCMonth() + 1)
  return d.toISOString().slice(0, 10)
}

/** The day before `date` (YYYY-MM-DD, UTC). */
function dayBefore(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10)
}

/**
 * from/to split into whole UTC months and the days of a partial first or last
 * month, so that per-month summaries answer the months and per-day rows only
 * the edges. `firstWhole`: first day of the first whole month; `lastWholeEnd`:
 * last day of the last whole month (undefined: unbounded on that side).
 */
function monthSplit(filters: ReportFilters): { firstWhole?: string; lastWholeEnd?: string } {
  const firstWhole =
    filters.from && (filters.from.endsWith('-01') ? filters.from : nextMonthStart(filters.from))
  const to = filters.to
  const lastWholeEnd = to && (dayBefore(nextMonthStart(to)) === to ? to : dayBefore(`${to.slice(0, 7)}-01`))
  return { firstWhole, lastWholeEnd }
}

/** On a month column (first days): the months wholly inside from/to. */
export function wholeMonthsInRange(column: string, filters: ReportFilters): RawBuilder<SqlBool> {
  const { firstWhole, lastWholeEnd } = monthSplit(filters)
  const ref = sql.ref(column)
  const conditions: RawBuilder<unknown>[] = []
  if (firstWhole) conditions.push(sql`${ref} >= ${firstWhole}::date`)
  if (lastWholeEnd) conditions.push(sql`${ref} <= ${lastWholeEnd}::date`)
  return conditions.length === 0 ? sql<SqlBool>`true` : sql<SqlBool>`(${sql.join(conditions, sql` and `)})`
}

/** On a day column: the days within from/to that fall in no whole month of the range. */
export function partialMonthDaysInRange(column: string, filters: ReportFilters): RawBuilder<SqlBool> {
  const { firstWhole, lastWholeEnd } = monthSplit(filters)
  const ref = sql.ref(column)
  const edges: RawBuilder<unknown>[] = []
  if (firstWhole) edges.push(sql`${ref} < ${firstWhole}::date`)
  if (lastWholeEnd) edges.push(sql`${ref} > ${lastWholeEnd}::date`)
  if (edges.length === 0) return sql<SqlBool>`false`
  return sql<SqlBool>`(${dayInRange(column, filters)} and (${sql.join(edges, sql` or `)}))`
}

/** On a timestamp column: submitted within from/to, on a day in no whole month of the range. */
export function partialMonthsSubmitted(column: string, filters: ReportFilters): RawBuilder<SqlBool> {
  const { firstWhole, lastWholeEnd } = monthSplit(filters)
  const ref = sql.ref(column)
  const edges: RawBuilder<unknown>[] = []
  if (firstWhole) edges.push(sql`${ref} < ((${firstWhole}::date)::timestamp at time zone 'UTC')`)
  if (lastWholeEnd) edges.push(sql`${ref} >= ((${lastWholeEnd}::date + 1)::timestamp at time zone 'UTC')`)
  if (edges.length === 0) return sql<SqlBool>`false`
  return sql<SqlBool>`(${submittedInRange(column, filters)} and (${sql.join(edges, sql` or `)}))`
}
