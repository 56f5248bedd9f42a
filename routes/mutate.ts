// Runs one data mutation through app.invalidation.transact: its work in ONE
// transaction, whose triggers record the tags it touched; after the commit and
// before the reply, those records are delivered, so a 2xx means every later
// read reflects the change (API.md "Mutations"). Past the wait bound the reply
// keeps its status and says `X-Invalidation: pending` (docs/invalidation.md).
import type { FastifyReply } from 'fastify'
import type { Transaction } from 'kysely'
import type { Database } from '../db/database.js'

/** Response header of a committed change whose invalidation is not yet delivered everywhere. */
export const PENDING_HEADER = 'x-invalidation'

/** Appended to the description of every mutation route (OpenAPI). */
export async function mutate<T>(
  reply: FastifyReply,
  reason: string,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  const { result, pending } = await reply.server.invalidation.transact(reason, work)
  if (pending) reply.header(PENDING_HEADER, 'pending')
  return result
}
