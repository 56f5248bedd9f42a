// Small pieces shared by the school-data domain modules.
import type { Principal } from '../access/viewer.js'

/** Largest id a Postgres `integer` (serial) column holds; larger ids cannot exist. */
export const MAX_ID = 2_147_483_647

/** Largest max_score (and so score) accepted; the numeric(10, 2) columns hold more. */
export const MAX_SCORE = 1_000_000

/** Timestamps leave the service as ISO 8601 strings in UTC. */
export function toIso(value: Date | string): string {
  return new Date(value).toISOString()
}

export function toIsoOrNull(value: Date | string | null): string | null {
  return value === null ? null : toIso(value)
}

/**
 * May change the class's assignments, grades, roster and progress: admins
 * (the class was already loaded within their tenant) and the class's teacher.
 */
export function mayManageClass(principal: Principal, klass: { teacher_id: number | null }): boolean {
  return principal.role === 'admin' || (principal.role === 'teacher' && klass.teacher_id === principal.id)
}
