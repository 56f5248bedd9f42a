// Starts the service: config, database (seeded on first embedded start),
// listen, and a graceful shutdown that finishes requests in flight.
import closeWithGrace from 'close-with-grace'
import { hasData, seedDatabase } from '../db/seed/index.js'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
    throw err
  }

  const app = await buildApp({ config })
  if (!config.databaseUrl && config.seedOnFirstStart && !(await hasData(app.db))) {
    app.log.info('db.seed.start')
    const summary = await seedDatabase(app.db, { size: 'small' })
    app.log.info({ summary }, 'db.seed.done')
  }

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'server.crash')
    else app.log.info({ signal }, 'server.shutdown')
    // Stops accepting, lets requests in flight finish, then runs onClose hooks.
    await app.close()
  })

  await app.listen({ host: config.host, port: config.port })
  const base = `http://${config.host}:${config.port}`
  app.log.info({ url: base, database: app.dbHandle.engine }, 'server.ready')
  if (process.stdout.isTTY || !config.databaseUrl) {
    process.stderr.write(
      [
        '',
        `Report service on ${base} (docs: ${base}/docs)`,
        'Try it:',
        '  TOKEN=$(npm run -s cli -- token --email admin@demo.test)',
        `  curl -s -H "Authorization: Bearer $TOKEN" ${base}/reports`,
        `  curl -si -H "Authorization: Bearer $TOKEN" ${base}/reports/1`,
        '',
      ].join('\n'),
    )
  }
}

main().catch((err) => {
  process.stderr.write(`Failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
