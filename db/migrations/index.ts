// Migrations listed statically: no directory scan, so a stale file in dist/
// can never be picked up, and tsx and compiled builds behave the same.
import type { Migration, MigrationProvider } from 'kysely'
import * as school from './2026-11-21-001-school.js'
import * as reports from './2026-11-21-002-reports.js'
import * as invalidationLog from './2026-12-01-001-invalidation-log.js'
import * as aggregates from './2026-12-01-002-aggregates.js'
import * as aggregatesClassMonth from './2026-12-01-003-aggregates-class-month.js'
import * as aggregatesStudentMonth from './2026-12-01-004-aggregates-student-month.js'
import * as aggregatesClassUnsharded from './2026-12-03-005-aggregates-class-unsharded.js'

export const migrationProvider: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '2026-11-21-001-school': school,
      '2026-11-21-002-reports': reports,
      '2026-12-01-001-invalidation-log': invalidationLog,
      '2026-12-01-002-aggregates': aggregates,
      '2026-12-01-003-aggregates-class-month': aggregatesClassMonth,
      '2026-12-01-004-aggregates-student-month': aggregatesStudentMonth,
      '2026-12-03-005-aggregates-class-unsharded': aggregatesClassUnsharded,
    }
  },
}
