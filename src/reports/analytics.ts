// analytics {} (whole tenant) | {class_ids}: submissions per period and the
// best classes (API.md):
// - series: one item per period that has submissions, periods being
//   date_trunc(granularity) of submitted_at in UTC (weeks start on Monday),
//   {period_start (YYYY-MM-DD), submissions, graded, average_score_pct (mean
//   score % of the graded ones, null if none), on_time_rate (% of the
//   period's submissions with submitted_at <= due_at)}, oldest first;
// - top_classes: the five best {class_id, class_name, average_score_pct} by
//   the (rounded) average, ties by class_id; classes with nothing graded are
//   left out.
// All filters apply to both parts; class_id narrows the classes.
// Computed from the summary tables; test/reference/analytics.ts is the same
// report over the raw rows, and the equivalence test holds them byte-equal.
import { sql } from 'kysely'
import { type Static, Type } from 'typebox'
import { Id } from '../input-schemas.js'
import { assertClassesExist } from './entities.js'
import { dayInRange, partialMonthDaysInRange, wholeMonthsInRange } from './filters.js'
import { meanPct, onTimeRate, sumInt } from './sql.js'
import { tag } from './tags.js'
import type { ComputeContext, ReportTypeDefinition } from './types.js'

export const AnalyticsParams = Type.Object(
  {
    class_ids: Type.Optional(
      Type.Array(Id, {
        minItems: 1,
        maxItems: 50,
        uniqueItems: true,
        description: 'Classes to cover (default: the whole tenant)',
      }),
    ),
  },
  { additionalProperties: false },
)
export type AnalyticsParams = Static<typeof AnalyticsParams>

export interface SeriesItem {
  period_start: string
  submissions: number
  graded: number
  average_score_pct: number | null
  on_time_rate: number | null
}

export interface TopClass {
  class_id: number
  class_name: string
  average_score_pct: number
}

export interface AnalyticsData {
  series: SeriesItem[]
  top_classes: TopClass[]
}

const TOP_CLASSES = 5

/**
 * The classes the computation covers, or null for the whole tenant:
 * params.class_ids (the same for every viewer), else a teacher's own classes
 * for a 'personal' result; then narrowed by the class_id filter.
 */
function classScope(
  { viewer, visibility, filters }: ComputeContext,
  params: AnalyticsParams,
): number[] | null {
  let scope: number[] | null = params.class_ids
    ? [...params.class_ids].sort((a, b) => a - b)
    : visibility === 'personal'
      ? [...viewer.classIds].sort((a, b) => a - b)
      : null
  if (filters.class_id !== undefined) {
    scope = scope === null || scope.includes(filters.class_id) ? [filters.class_id] : []
  }
  return scope
}

export const analytics: ReportTypeDefinition<AnalyticsParams> = {
  type: 'analytics',
  paramsSchema: AnalyticsParams,

  async validateParams(db, tenantId, params) {
    if (params.class_ids) await assertClassesExist(db, tenantId, params.class_ids, 'params.class_ids')
  },

  // Admin: shared. Teacher: its own classes named in params are shared (the
  // body does not depend on who asks); without class_ids the result covers
  // only the teacher's classes, so it is personal. Others: forbidden.
  visibility(viewer, params) {
    if (viewer.all) return 'shared'
    if (viewer.role !== 'teacher') return 'forbidden'
    if (!params.class_ids) return 'personal'
    return params.class_ids.every((id) => viewer.classIds.has(id)) ? 'shared' : 'forbidden'
  },

  async compute(ctx, params) {
    const { db, tenantId, filters } = ctx
    const scope = classScope(ctx, params)
    // Tags: both parts read submissions joined to their assignments (max_score,
    // due_at, class) and class names. school-work:T (whole tenant) or
    // class-work:C per class covered holds every submission/grade and every
    // assignment change that alters score % or on-time, or deletes work. A new
    // assignment (no submissions), a title, an enrollment or material progress
    // is not read. Class names cannot change through the API. A teacher's
    // personal scope also depends on its classes: the cache adds its access tags.
    const tags = scope === null ? [tag.schoolWork(tenantId)] : scope.map(tag.classWork)
    if (scope !== null && scope.length === 0) {
      return { data: { series: [], top_classes: [] } satisfies AnalyticsData, tags }
    }

    // From the summaries (migrations 2026-12-01-002/003): the whole tenant's
    // series from its per-day rows, a class scope's from the per assignment and
    // day rows; the best classes from the per-class totals, or per class and
    // month with from/to. Whole-date filters select whole UTC days.
    const dated = filters.from !== undefined || filters.to !== undefined
    const byDay = () =>
      db
        .selectFrom('agg_work_day as w')
        .where('w.tenant_id', '=', tenantId)
        .$if(scope !== null, (q) => q.where('w.class_id', 'in', scope as number[]))
        .where(dayInRange('w.day', filters))
    const series = () => {
      // A literal, not a parameter: the same expression must appear in select and group by.
      const period = sql`date_trunc(${sql.lit(filters.granularity ?? 'week')}, w.day::timestamp)`
      const columns = [
        sql<string>`to_char(${period}, 'YYYY-MM-DD')`.as('period_start'),
        sumInt('w.n').as('submissions'),
        sumInt('w.graded').as('graded'),
        meanPct('w').as('average_score_pct'),
        onTimeRate('w').as('on_time_rate'),
      ]
      const source =
        scope === null
          ? db
              .selectFrom('agg_work_tenant_day as w')
              .where('w.tenant_id', '=', tenantId)
              .where(dayInRange('w.day', filters))
              .select(columns)
          : byDay().select(columns)
      return source.groupBy(period).having(sql`sum(w.n)`, '>', 0).orderBy(period).execute()
    }
    // Per class: the totals without from/to; with them, whole months from the
    // per-month rows and the days of a partial first or last month.
    const byClass = () =>
      dated
        ? db.selectFrom((eb) =>
            eb
              .selectFrom('agg_work_class_month as m')
              .select(['m.class_id', 'm.n', 'm.graded', 'm.on_time', 'm.sum_pct'])
              .where('m.tenant_id', '=', tenantId)
              .$if(scope !== null, (q) => q.where('m.class_id', 'in', scope as number[]))
              .where(wholeMonthsInRange('m.month', filters))
              .unionAll(
                eb
                  .selectFrom('agg_work_day as d')
                  .select(['d.class_id', 'd.n', 'd.graded', 'd.on_time', 'd.sum_pct'])
                  .where('d.tenant_id', '=', tenantId)
                  .$if(scope !== null, (q) => q.where('d.class_id', 'in', scope as number[]))
                  .where(partialMonthDaysInRange('d.day', filters)),
              )
              .as('w'),
          )
        : db
            .selectFrom('agg_work_class as w')
            .where('w.tenant_id', '=', tenantId)
            .$if(scope !== null, (q) => q.where('w.class_id', 'in', scope as number[]))
    const best = () => {
      const source = byClass()
      return (
        source
          .innerJoin('classes as c', 'c.id', 'w.class_id')
          .select([
            'c.id as class_id',
            'c.name as class_name',
            sql<number>`${meanPct('w')}`.as('average_score_pct'),
          ])
          .groupBy(['c.id', 'c.name'])
          .having(sql`sum(w.graded)`, '>', 0)
          // Ordered by the value shown, so equal-looking averages go by class_id.
          .orderBy('average_score_pct', 'desc')
          .orderBy('c.id')
          .limit(TOP_CLASSES)
          .execute()
      )
    }
    const [seriesRows, topClasses] = await Promise.all([series(), best()])
    const data: AnalyticsData = { series: seriesRows, top_classes: topClasses }
    return { data, tags }
  },
}
