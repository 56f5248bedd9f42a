// Runs one school-data mutation: its work in ONE transaction, then — after
// the commit, before the reply — advances the cache tags it touched, so that
// a 2xx means every later read reflects the change (API.md "Mutations").
import type { FastifyInstance } from 'fastify'
import type { Transaction } from 'kysely'
import type { Database } from '../../db/database.js'
import type { Mutation, MutationReason } from '../../src/school/mutation-tags.js'

export async function mutate<T>(
  app: FastifyInstance,
  tenantId: number,
  reason: MutationReason,
  work: (trx: Transaction<Database>) => Promise<Mutation<T>>,
): Promise<T> {
  const { result, tags } = await app.db.transaction().execute(work)
  await app.invalidate(tenantId, tags, reason)
  return result
}
