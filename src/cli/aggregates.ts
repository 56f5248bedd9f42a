// `aggregates rebuild | check`: the summary tables of the reports
// (db/aggregates.ts) recomputed from the raw data. rebuild replaces them (in
// one transaction; writers wait meanwhile); check compares and fails (exit 1)
// on any difference, naming the tables. A rebuild that changed figures leaves
// cached reports as they were: `invalidate --tenant T` afterwards.
import { checkAggregates, rebuildAggregates } from '../../db/aggregates.js'
import { migrateToLatest } from '../../db/migrate.js'
import { loadConfig } from '../config.js'
import { type Command, parseOptions, UsageError } from './command.js'
import { withDatabase } from './database.js'

export const aggregates: Command = {
  usage: [
    'aggregates rebuild | check',
    '  rebuild  recompute every summary table from the raw data (writers wait meanwhile)',
    '  check    compare the summary tables with the raw data; exit 1 on any difference',
  ].join('\n'),

  async run(args, io) {
    const [action, ...rest] = args
    if (action !== 'rebuild' && action !== 'check') throw new UsageError('expected rebuild or check')
    parseOptions(rest, {})
    const config = loadConfig(io.env)
    await withDatabase(config, action === 'rebuild' ? 'write' : 'read', async ({ db }) => {
      const started = Date.now()
      if (action === 'rebuild') {
        await migrateToLatest(db)
        await rebuildAggregates(db)
        io.stdout.write(`Summary tables rebuilt in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
        return
      }
      const differences = await checkAggregates(db)
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      if (differences.length === 0) {
        io.stdout.write(`Summary tables match the raw data (checked in ${seconds} s)\n`)
        return
      }
      for (const d of differences) {
        io.stdout.write(`${d.table}: ${d.stale} stale rows, ${d.missing} missing rows\n`)
      }
      throw new Error(
        `summary tables differ from the raw data in ${differences.map((d) => d.table).join(', ')}`,
      )
    })
  },
}
