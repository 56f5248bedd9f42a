// `seed`: migrates the configured database and fills it with the
// deterministic demo data, then prints the row counts.
import { migrateToLatest } from '../../db/migrate.js'
import { DEFAULT_SEED, hasData, SEED_SIZES, type SeedSize, seedDatabase } from '../../db/seed/index.js'
import { loadConfig } from '../config.js'
import { type Command, integerOption, parseOptions, stringOption, UsageError } from './command.js'
import { withDatabase } from './database.js'
import { createProgress } from './progress.js'

export const seed: Command = {
  usage: [
    `seed [--size ${SEED_SIZES.join('|')}] [--seed N] [--reset | --if-empty]`,
    `  --size      how much data (default small; large ≈ 1,000,000 submissions)`,
    `  --seed      the PRNG seed, 0–4294967295 (default ${DEFAULT_SEED}): same size and seed, same data`,
    '  --reset     empty every table first (TRUNCATE … RESTART IDENTITY CASCADE)',
    '  --if-empty  do nothing, successfully, when the database already has data',
  ].join('\n'),

  async run(args, io) {
    const values = parseOptions(args, {
      size: { type: 'string', default: 'small' },
      seed: { type: 'string' },
      reset: { type: 'boolean', default: false },
      'if-empty': { type: 'boolean', default: false },
    })
    const size = stringOption(values, 'size') as SeedSize
    if (!SEED_SIZES.includes(size)) throw new UsageError(`--size must be one of ${SEED_SIZES.join(', ')}`)
    const seedValue = integerOption(values, 'seed', 0, 0xffffffff) ?? DEFAULT_SEED
    const reset = values.reset === true
    const ifEmpty = values['if-empty'] === true
    if (reset && ifEmpty) throw new UsageError('--reset and --if-empty exclude each other')

    const config = loadConfig(io.env)
    const where = config.databaseUrl
      ? `postgres${config.databaseSchema ? ` (schema ${config.databaseSchema})` : ''}`
      : `the embedded database in ${config.dataDir}`
    await withDatabase(config, 'write', async ({ db }) => {
      await migrateToLatest(db)
      if (ifEmpty && (await hasData(db))) {
        io.stderr.write(`${where} already has data: nothing seeded\n`)
        return
      }
      const started = Date.now()
      const summary = await seedDatabase(db, {
        size,
        seed: seedValue,
        reset,
        progress: createProgress(io.stderr),
      })
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      const lines = Object.entries(summary).map(([table, rows]) => `  ${table.padEnd(18)} ${rows}`)
      io.stdout.write(
        `Seeded ${where}: size ${size}, seed ${seedValue}, in ${seconds} s\n${lines.join('\n')}\n`,
      )
    })
  },
}
