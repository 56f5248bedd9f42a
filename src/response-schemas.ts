// Shapes of responses shared by the routes.
import { type Static, type TSchema, type TUnsafe, Type } from 'typebox'

/**
 * `T | null`, as OpenAPI 3.0 says it (`nullable: true`). fast-json-stringify
 * serializes it with one null check; the same type as `anyOf [T, null]` would
 * run a validator per field on every response, compiled on first use (seen in a
 * profile: the first PATCH /submissions of a process held the event loop 13 ms,
 * most of it compiling those validators).
 */
export function Nullable<T extends TSchema>(schema: T, options: object = {}): TUnsafe<Static<T> | null> {
  return Type.Unsafe<Static<T> | null>({ ...schema, ...options, nullable: true })
}
