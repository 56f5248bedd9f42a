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
