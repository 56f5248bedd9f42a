// A private Postgres primary and its streaming replica for tests: a cluster
// initdb'd under /tmp, a replica made from it by `pg_basebackup -R`, both run
// as user postgres (tests run as root) on free ports, stopped by their data
// directory's postmaster pid (pg_ctl stop) in teardown. The shared Postgres is
// never touched.
import { execFile } from 'node:child_process'
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { freePorts } from './redis-server.js'

const run = promisify(execFile)
const BIN = '/usr/lib/postgresql/15/bin'

interface Teardown {
  teardown(fn: () => unknown): void
}

async function asPostgres(command: string, args: string[]): Promise<void> {
  await run('runuser', ['-u', 'postgres', '--', join(BIN, command), ...args])
}

async function uid(user: string): Promise<{ uid: number; gid: number }> {
  const [u, g] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])])
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) }
}

export class PostgresServer {
  constructor(
    readonly dataDir: string,
    readonly port: number,
    readonly socketDir: string,
  ) {}

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`
  }

  async start(): Promise<void> {
    const log = join(this.dataDir, 'server.log')
    await asPostgres('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      log,
      '-w',
      '-o',
      `-p ${this.port} -k ${this.socketDir} -c listen_addresses=127.0.0.1`,
      'start',
    ]).catch((err: Error) => {
      throw new Error(`${err.message}\n${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''}`)
    })
  }

  /** Stops the postmaster of this data directory (the pid it started), at once. */
  async stop(): Promise<void> {
    await asPostgres('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => {})
  }

  /** Appends settings to postgresql.auto.conf and reloads (for sighup settings such as recovery_min_apply_delay). */
  async configure(settings: Record<string, string>): Promise<void> {
    const lines = Object.entries(settings).map(([k, v]) => `${k} = '${v}'\n`)
    appendFileSync(join(this.dataDir, 'postgresql.auto.conf'), lines.join(''))
    await asPostgres('pg_ctl', ['-D', this.dataDir, 'reload'])
  }

  async query<R extends pg.QueryResultRow>(text: string, database = 'postgres'): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.url(database) })
    await client.connect()
    try {
      return (await client.query<R>(text)).rows
    } finally {
      await client.end()
    }
  }
}

export interface PrimaryAndReplica {
  primary: PostgresServer
  replica: PostgresServer
}

/** initdb, start, pg_basebackup -R, start the replica; both stopped and removed in teardown. */
export async function startPrimaryAndReplica(t: Teardown): Promise<PrimaryAndReplica> {
  const root = mkdtempSync(join(tmpdir(), 'report-pg-'))
  const owner = await uid('postgres')
  chownSync(root, owner.uid, owner.gid)
  const [primaryPort, replicaPort] = await freePorts(2)
  const primary = new PostgresServer(join(root, 'primary'), primaryPort, root)
  const replica = new PostgresServer(join(root, 'replica'), replicaPort, root)
  const dispose = async () => {
    await replica.stop()
    await primary.stop()
    rmSync(root, { recursive: true, force: true })
  }
  t.teardown(dispose)
  try {
    await initAndReplicate(primary, replica)
  } catch (err) {
    // A top-level throw in a test file skips teardown: stop what was started now.
    await dispose()
    throw err
  }
  return { primary, replica }
}

async function initAndReplicate(primary: PostgresServer, replica: PostgresServer): Promise<void> {
  await asPostgres('initdb', ['-D', primary.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync'])
  // Durability is not under test: fsync off keeps the engines fast on a busy machine.
  appendFileSync(join(primary.dataDir, 'postgresql.conf'), 'fsync = off\nsynchronous_commit = off\n')
  await primary.start()
  await asPostgres('pg_basebackup', [
    '-D',
    replica.dataDir,
    '-R',
    '-X',
    'stream',
    '-h',
    '127.0.0.1',
    '-p',
    String(primary.port),
    '-U',
    'postgres',
    '--no-sync',
  ])
  await replica.start()
}
