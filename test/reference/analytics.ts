// REFERENCE: src/reports/analytics.ts as it was before the summary tables, over
// the raw rows; the equivalence test (test/aggregates-equivalence.test.ts)
// holds the summary-based report byte-equal to it. Only `compute` is used.
//
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
import { sql } from 'kysely'
import type { AnalyticsData, AnalyticsParams } from '../../src/reports/analytics.js'
import { submittedInRange } from '../../src/reports/filters.js'
import { countInt, ratePct, round2, scorePct } from '../../src/reports/sql.js'
import { tag } from '../../src/reports/tags.js'
import type { ComputeContext, ReportTypeDefinition } from '../../src/reports/types.js'

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

/** Only the computation differs from src/reports/analytics.ts: params, visibility and validation are its. */
export const referenceAnalytics: Pick<ReportTypeDefinition<AnalyticsParams>, 'compute'> = {
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

    const work = () =>
      db
        .selectFrom('submissions as s')
        .innerJoin('assignments as a', 'a.id', 's.assignment_id')
        .where('s.tenant_id', '=', tenantId)
        .$if(scope !== null, (q) => q.where('a.class_id', 'in', scope as number[]))
        .where(submittedInRange('s.submitted_at', filters))

    // A literal, not a parameter: the same expression must appear in select and group by.
    const period = sql`date_trunc(${sql.lit(filters.granularity ?? 'week')}, s.submitted_at at time zone 'UTC')`
    const pct = scorePct('s.score', 'a.max_score')

    const [series, topClasses] = await Promise.all([
      work()
        .select([
          sql<string>`to_char(${period}, 'YYYY-MM-DD')`.as('period_start'),
          countInt().as('submissions'),
          countInt(sql.ref('s.score')).as('graded'),
          round2(sql`avg(${pct})`).as('average_score_pct'),
          ratePct(sql`count(*) filter (where s.submitted_at <= a.due_at)`, sql`count(*)`).as('on_time_rate'),
        ])
        .groupBy(period)
        .orderBy(period)
        .execute(),
      work()
        .innerJoin('classes as c', 'c.id', 'a.class_id')
        .select([
          'c.id as class_id',
          'c.name as class_name',
          sql<number>`round(avg(${pct})::numeric, 2)::float8`.as('average_score_pct'),
        ])
        .where('s.score', 'is not', null)
        .groupBy(['c.id', 'c.name'])
        // Ordered by the value shown, so equal-looking averages go by class_id.
        .orderBy('average_score_pct', 'desc')
        .orderBy('c.id')
        .limit(TOP_CLASSES)
        .execute(),
    ])
    return { data: { series, top_classes: topClasses } satisfies AnalyticsData, tags }
  },
}
