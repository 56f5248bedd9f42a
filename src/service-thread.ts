// The service itself, in the thread src/server.ts starts: config, database
// (seeded on first embedded start), listen, and a graceful shutdown that
// finishes requests in flight when the launcher passes on a signal.
import { parentPort } from 'node:worker_threads'
import { hasData, seedDatabase } from '../db/seed/index.js'
import { type App, buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { stdoutIsTerminal } from './terminal.js'

/** What the launcher sends: a signal it received, to be answered by a graceful close. */
export interface ShutdownMessage {
  type: 'shutdown'
  signal: NodeJS.Signals
}

/**
 * What this thread sends before it ends on a start failure: the launcher
 * writes it to stderr itself, since this thread's stderr is an asynchronous
 * pipe that an exit may cut.
 */
export interface FatalMessage {
  type: 'fatal'
  message: string
}

function fatal(message: string): never {
  parentPort?.postMessage({ type: 'fatal', message } satisfies FatalMessage)
  process.exit(1)
}

let closing = false

/** Stops accepting, lets requests in flight finish, runs onClose hooks, then ends the thread. */
function shutdown(app: App, code: number, fields: Record<string, unknown>, msg: string): void {
  if (closing) return
  closing = true
  if (code === 0) app.log.info(fields, msg)
  else app.log.error(fields, msg)
  app.close().then(
    () => process.exit(code),
    (err: unknown) => {
      app.log.error({ err }, 'server.close.failed')
      process.exit(1)
    },
  )
}

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) fatal(err.message)
    throw err
  }

  const app = await buildApp({ config })
  if (!config.databaseUrl && config.seedOnFirstStart && !(await hasData(app.db))) {
    app.log.info('db.seed.start')
    const summary = await seedDatabase(app.db, { size: 'small' })
    app.log.info({ summary }, 'db.seed.done')
  }

  parentPort?.on('message', (message: ShutdownMessage) => {
    if (message.type === 'shutdown') shutdown(app, 0, { signal: message.signal }, 'server.shutdown')
  })
  process.on('uncaughtException', (err) => shutdown(app, 1, { err }, 'server.crash'))
  process.on('unhandledRejection', (err) => shutdown(app, 1, { err }, 'server.crash'))

  await app.listen({ host: config.host, port: config.port })
  const base = `http://${config.host}:${config.port}`
  app.log.info({ url: base, database: app.dbHandle.engine }, 'server.ready')
  if (stdoutIsTerminal || !config.databaseUrl) {
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

main().catch((err) => fatal(`Failed to start: ${err instanceof Error ? err.message : String(err)}`))
