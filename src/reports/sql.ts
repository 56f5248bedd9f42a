// SQL fragments shared by the report types, so that every type computes the
// API.md definitions the same way: score % in exact numeric arithmetic, and
// every reported decimal rounded to 2 places on numeric (half away from zero),
// converted to float8 only at the end so the driver returns numbers.
import { type Expression, type RawBuilder, sql } from 'kysely'

/** A submission's score % of its assignment: score / max_score * 100 (null when ungraded). */
export function scorePct(score: string, maxScore: string): RawBuilder<number | null> {
  return sql<number | null>`(${sql.ref(score)} / ${sql.ref(maxScore)} * 100)`
}

/** round(x, 2) on numeric, as a JS number; null stays null (a group with no data). */
export function round2(expr: Expression<unknown>): RawBuilder<number | null> {
  return sql<number | null>`round((${expr})::numeric, 2)::float8`
}

/** Percentage of rows matching `condition` among `count`, rounded; null when there are none. */
export function ratePct(
  matching: Expression<unknown>,
  total: Expression<unknown>,
): RawBuilder<number | null> {
  return round2(sql`100.0 * ${matching} / nullif(${total}, 0)`)
}

/** count(...) as an int (pg returns bigint counts as strings). */
export function countInt(expr: Expression<unknown> | '*' = '*'): RawBuilder<number> {
  return expr === '*' ? sql<number>`count(*)::int` : sql<number>`count(${expr})::int`
}

// Over summary rows (migration 2026-12-01-002-aggregates): the same numbers
// as the raw aggregates above. avg() of numeric is sum / count by numeric
// division, and sum_pct is that exact numeric sum, so meanPct gives avg's
// digits; counts are int sums, so rates divide the same integers.

/** round(sum(sum_pct) / sum(graded), 2): the mean score % of the graded submissions; null if none. */
export function meanPct(table: string): RawBuilder<number | null> {
  return round2(sql`sum(${sql.ref(`${table}.sum_pct`)}) / nullif(sum(${sql.ref(`${table}.graded`)}), 0)`)
}

/** The % of submissions on time; null if none. */
export function onTimeRate(table: string): RawBuilder<number | null> {
  return ratePct(sql`sum(${sql.ref(`${table}.on_time`)})`, sql`sum(${sql.ref(`${table}.n`)})`)
}

/** sum(int column)::int (pg's sum of integers is a bigint). */
export function sumInt(column: string): RawBuilder<number> {
  return sql<number>`coalesce(sum(${sql.ref(column)}), 0)::int`
}
