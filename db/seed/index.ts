// Placeholder: deterministic demo seed (issue 2).
import type { Kysely } from 'kysely'
import type { Database } from '../database.js'
export type SeedSize = 'small' | 'medium' | 'large'
export interface SeedOptions {
  size: SeedSize
  seed?: number
  progress?: (done: number, total: number, label: string) => void
}
export async function hasData(db: Kysely<Database>): Promise<boolean> {
  return (await db.selectFrom('tenants').select('id').limit(1).execute()).length > 0
}
export async function seedDatabase(_db: Kysely<Database>, _o: SeedOptions): Promise<Record<string, number>> {
  return {}
}
