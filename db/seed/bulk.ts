// Bulk inserts that work on pg and PGlite alike: one INSERT … SELECT FROM
// unnest(array, array, …) per batch, each column passed as ONE text parameter
// in Postgres array syntax. A few parameters per statement regardless of batch
// size, no per-row bind overhead, and no COPY client needed.
import { sql } from 'kysely'
import type { Db } from '../database.js'

export type ColumnType = 'int' | 'text' | 'numeric' | 'timestamptz' | 'jsonb'
export type Cell = number | string | null

/** Rows per INSERT: large enough to amortise round trips, small enough for PGlite's memory. */
export const BATCH_ROWS = 10_000

// Array-literal element: numbers and ISO timestamps go bare, text is quoted
// (https://www.postgresql.org/docs/current/arrays.html#ARRAYS-IO).
function element(value: Cell, type: ColumnType): string {
  if (value === null) return 'NULL'
  if (type === 'int' || type === 'numeric') return String(value)
  if (type === 'timestamptz') return value as string
  return `"${String(value).replace(/[\\"]/g, '\\$&')}"`
}

/** Collects rows for one table and inserts them in batches, one batch in flight while the next is built. */
export class BulkWriter {
  readonly #db: Db
  readonly #table: string
  readonly #columns: Array<[name: string, type: ColumnType]>
  #cells: string[][]
  #rows = 0
  #inFlight: Promise<unknown> | null = null
  written = 0

  /** `columns`: "name:type" pairs separated by spaces, e.g. "id:int title:text due_at:timestamptz". */
  constructor(db: Db, table: string, columns: string) {
    this.#db = db
    this.#table = table
    this.#columns = columns.split(' ').map((spec) => spec.split(':') as [string, ColumnType])
    this.#cells = this.#columns.map(() => [])
  }

  /** Adds a row (cells in column order); true when a batch is full: then `await flush()`. */
  add(...cells: Cell[]): boolean {
    for (let i = 0; i < cells.length; i++) this.#cells[i].push(element(cells[i], this.#columns[i][1]))
    return ++this.#rows >= BATCH_ROWS
  }

  /** Sends what is left and waits for every batch. */
  async finish(): Promise<number> {
    await this.flush()
    await this.#inFlight
    this.#inFlight = null
    return this.written
  }

  /** Sends the rows collected so far once the previous batch is done; does not wait for this one. */
  async flush(): Promise<void> {
    // At most one batch in flight: bounded memory, and generation overlaps the insert.
    await this.#inFlight
    if (this.#rows === 0) return
    const cells = this.#cells
    const rows = this.#rows
    this.#cells = this.#columns.map(() => [])
    this.#rows = 0
    const names = sql.join(this.#columns.map(([name]) => sql.ref(name)))
    const arrays = sql.join(
      this.#columns.map(([, type], i) => sql`${`{${cells[i].join(',')}}`}::${sql.raw(type)}[]`),
    )
    const insert = sql`insert into ${sql.table(this.#table)} (${names}) select * from unnest(${arrays})`
      .execute(this.#db)
      .then(() => {
        this.written += rows
      })
    // Handled here so a failure while the next batch is built is not "unhandled"; finish()/flush() rethrow it.
    insert.catch(() => {})
    this.#inFlight = insert
  }
}

/** ISO 8601 in UTC, as Postgres reads it back into timestamptz. */
export function iso(ms: number): string {
  return new Date(ms).toISOString()
}
