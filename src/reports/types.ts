// What every report type provides: a params schema, an access rule that also
// says whether the result depends on the viewer, a computation, and the tags
// of what that computation read (the cache turns them into validity checks).
import type { TSchema } from 'typebox'
import type { Db, ReportType as ReportTypeName } from '../../db/database.js'
import type { Viewer } from '../access/viewer.js'

export type { ReportTypeName }

/** Filters after validation and normalisation: sorted keys, defaults applied, dates as YYYY-MM-DD. */
export interface ReportFilters {
  from?: string
  to?: string
  class_id?: number
  granularity?: 'week' | 'month'
}

/**
 * How a viewer may see a report:
 * - 'shared': allowed, and the result is the same for every viewer allowed to see it (cache scope `all`);
 * - 'personal': allowed, but the result is restricted to what this viewer sees (cache scope `u{id}`);
 * - 'forbidden': 403.
 */
export type Visibility = 'shared' | 'personal' | 'forbidden'

/**
 * Entities looked up before the access decision, so that `visibility` stays a
 * pure function (e.g. the class of an assignment a grade distribution is about).
 */
export interface ResolvedEntities {
  /** Class of each referenced assignment that exists in the caller's tenant. */
  assignmentClasses: ReadonlyMap<number, number>
}

export interface ComputeContext {
  db: Db
  tenantId: number
  viewer: Viewer
  filters: ReportFilters
  /**
   * The access decision for this viewer: a 'personal' result is restricted to
   * what the viewer sees; a 'shared' one must not depend on the viewer at all.
   */
  visibility: Exclude<Visibility, 'forbidden'>
}

export interface ComputeResult {
  data: unknown
  /** Data tags read by the computation (see tags.ts); the cache adds tenant and report tags. */
  tags: string[]
}

export interface ReportTypeDefinition<P = Record<string, unknown>> {
  type: ReportTypeName
  /** JSON schema of params (TypeBox, additionalProperties: false). */
  paramsSchema: TSchema
  /** Checks that referenced entities exist in the tenant; throws InvalidParams naming the field. */
  validateParams(db: Db, tenantId: number, params: P): Promise<void>
  /** Assignments whose class the access rule needs; looked up (in the tenant) before `visibility`. */
  referencedAssignments?(params: P): number[]
  /** Pure: decided from the viewer, params and pre-resolved entities, without a query. */
  visibility(viewer: Viewer, params: P, entities?: ResolvedEntities): Visibility
  compute(ctx: ComputeContext, params: P): Promise<ComputeResult>
}
