// The CLI: `npm run cli -- <command> [options]`. One entry per command in the
// table below, each loaded only when used (token must not wait for PGlite).
// Exit codes: 0 success, 1 failure, 2 usage error. Messages are one line on
// stderr and never include secrets or connection strings.
import { type CliIo, type Command, UsageError } from './command.js'

interface CommandEntry {
  summary: string
  load(): Promise<Command>
}

const COMMANDS: Record<string, CommandEntry> = {
  token: {
    summary: 'print a bearer token for a user',
    load: async () => (await import('./token.js')).token,
  },
  seed: {
    summary: 'fill the database with deterministic demo data',
    load: async () => (await import('./seed.js')).seed,
  },
  warm: {
    summary: 'compute and store reports in the shared cache (REDIS_URL)',
    load: async () => (await import('./warm.js')).warm,
  },
  invalidate: {
    summary: "invalidate a tenant's cached reports, or one report's (REDIS_URL)",
    load: async () => (await import('./invalidate.js')).invalidate,
  },
  aggregates: {
    summary: 'rebuild the report summary tables from the raw data, or check them',
    load: async () => (await import('./aggregates.js')).aggregates,
  },
  stats: {
    summary: 'cache size, status and hit rate per tenant (REDIS_URL)',
    load: async () => (await import('./stats.js')).stats,
  },
}

const PROGRAM = 'npm run cli --'

function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length))
  const lines = Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`)
  return `usage: ${PROGRAM} <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n${PROGRAM} <command> --help for its options\n`
}

/** Synopsis lines (unindented) get the program prefix; indented lines explain them and are printed as written. */
function helpText(usage: string): string {
  const lines = usage
    .split('\n')
    .map((line, i) => (/^\s/.test(line) ? line : `${i === 0 ? 'usage: ' : '       '}${PROGRAM} ${line}`))
  return `${lines.join('\n')}\n`
}

/** Replaces anything secret the environment holds, and any credentials in a URL, before printing. */
function redact(message: string, env: NodeJS.ProcessEnv): string {
  let safe = message
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET']) {
    const value = env[name]
    if (value && value.length >= 4) safe = safe.split(value).join(`[${name}]`)
  }
  return safe.replace(/\b(postgres(?:ql)?|rediss?):\/\/\S+/g, '$1://[redacted]').replace(/\s*\n\s*/g, ' ')
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const stream = name === undefined ? io.stderr : io.stdout
    stream.write(overview())
    return name === undefined ? 2 : 0
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (!entry) {
    io.stderr.write(
      `cli: unknown command ${JSON.stringify(name)} (commands: ${Object.keys(COMMANDS).join(', ')})\n`,
    )
    return 2
  }
  let command: Command | undefined
  try {
    command = await entry.load()
    if (args.includes('--help') || args.includes('-h')) {
      io.stdout.write(helpText(command.usage))
      return 0
    }
    await command.run(args, io)
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`cli ${name}: ${redact(err.message, io.env)} (see ${PROGRAM} ${name} --help)\n`)
      return 2
    }
    // Failures (ConfigError names the variable, never its value; database errors; refusals).
    const message = err instanceof Error ? err.message : String(err)
    io.stderr.write(`cli ${name}: ${redact(message, io.env)}\n`)
    return 1
  }
}

main(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code
  },
  () => {
    process.stderr.write('cli: unexpected failure\n')
    process.exitCode = 1
  },
)
