// The CLI as a user runs it: a child process, its stdout, stderr and exit code.
// token --email runs against a database seeded through the CLI itself: a
// private schema on Postgres when DATABASE_URL is set, else a temporary
// embedded PGlite folder.
import { spawn } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import t from 'tap'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const SECRET = 'cli-test-secret-0123456789'
const DATABASE_URL = process.env.DATABASE_URL || undefined

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the CLI with only the variables given (plus PATH/HOME), never the test's own database settings. */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const base: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], {
      cwd: ROOT,
      env: { ...base, ...env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

interface Jwt {
  header: Record<string, unknown>
  claims: Record<string, unknown>
  signed: boolean
}

/** Decodes a compact JWT and checks its HS256 signature independently of the code under test. */
function decode(token: string, secret: string): Jwt {
  const [header, payload, signature] = token.split('.')
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')),
    claims: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')),
    signed: signature === expected,
  }
}

function tempDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'report-cli-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('token --user --tenant --role prints a signed HS256 token alone on stdout', async (t) => {
  const run = await cli(['token', '--user', '5', '--tenant', '1', '--role', 'teacher'], {
    JWT_SECRET: SECRET,
  })
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'one token, one line')
  const jwt = decode(run.stdout.trim(), SECRET)
  t.ok(jwt.signed, 'signature verifies with JWT_SECRET')
  t.notOk(decode(run.stdout.trim(), `${SECRET}x`).signed, 'and not with another secret')
  t.same(jwt.header, { alg: 'HS256', typ: 'JWT' })
  t.match(jwt.claims, { sub: 5, tid: 1, role: 'teacher' })
  const { iat, exp } = jwt.claims as { iat: number; exp: number }
  t.equal(exp - iat, 24 * 3600, 'default lifetime: one day')
  t.ok(Math.abs(iat - Date.now() / 1000) < 300, 'issued now')
})

t.test('token --ttl sets the lifetime', async (t) => {
  const run = await cli(['token', '--user', '9', '--tenant', '2', '--role', 'parent', '--ttl', '60'], {
    JWT_SECRET: SECRET,
  })
  t.equal(run.code, 0, run.stderr)
  const { claims } = decode(run.stdout.trim(), SECRET)
  t.match(claims, { sub: 9, tid: 2, role: 'parent' })
  t.equal((claims.exp as number) - (claims.iat as number), 60)
})

t.test('without JWT_SECRET the token is signed with the secret kept in DATA_DIR', async (t) => {
  const dataDir = tempDir(t)
  const first = await cli(['token', '--user', '1', '--tenant', '1', '--role', 'admin'], { DATA_DIR: dataDir })
  t.equal(first.code, 0, first.stderr)
  const secret = readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim()
  t.ok(secret.length >= 32, 'a generated secret was stored')
  t.ok(decode(first.stdout.trim(), secret).signed)
  const second = await cli(['token', '--user', '2', '--tenant', '1', '--role', 'admin'], {
    DATA_DIR: dataDir,
  })
  t.ok(decode(second.stdout.trim(), secret).signed, 'the next run reuses it')
})

t.test('usage errors exit 2 with a one-line message and nothing on stdout', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['token', '--user', '5', '--tenant', '1'], /--role/],
    [['token', '--user', 'five', '--tenant', '1', '--role', 'teacher'], /--user must be a whole number/],
    [['token', '--user', '5', '--tenant', '1', '--role', 'wizard'], /--role must be one of/],
    [['token', '--email', 'a@b.test', '--user', '5'], /cannot be combined/],
    [['token', '--user', '5', '--tenant', '1', '--role', 'admin', '--ttl', '0'], /--ttl/],
    [['token', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['seed', '--size', 'huge'], /--size must be one of small, medium, large/],
    [['seed', '--reset', '--if-empty'], /exclude each other/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ]
  // Independent runs: in parallel, to keep the file quick.
  const runs = await Promise.all(cases.map(([args]) => cli(args, { JWT_SECRET: SECRET })))
  for (const [i, [args, message]] of cases.entries()) {
    const run = runs[i]
    t.equal(run.code, 2, `${args.join(' ')}: exit 2`)
    t.equal(run.stdout, '', `${args.join(' ')}: no stdout`)
    t.match(run.stderr, message)
    t.equal(run.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`)
  }
  const bare = await cli([])
  t.equal(bare.code, 2, 'no command: exit 2')
  t.match(bare.stderr, /commands:[\s\S]*token[\s\S]*seed/, 'and the command list')
  const help = await cli(['token', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /token --email E/)
  // In parallel, as above: each run is a process start.
  const helpCommands = ['token', 'seed', 'warm', 'invalidate', 'stats']
  const helps = await Promise.all(helpCommands.map((command) => cli([command, '--help'])))
  for (const [i, command] of helpCommands.entries()) {
    const run = helps[i]
    t.equal(run.code, 0, `${command} --help exits 0`)
    const lines = run.stdout.trimEnd().split('\n')
    t.match(lines[0], new RegExp(`^usage: npm run cli -- ${command} `), `${command}: synopsis first`)
    // Continuation lines explain the synopsis: printed as written, with no program prefix.
    const explained = lines.filter((l) => /^ {2}\S/.test(l))
    t.same(
      explained.filter((l) => l.includes('npm run cli')),
      [],
      `${command}: no prefix on explanation lines`,
    )
    if (command !== 'token') t.ok(explained.length > 0, `${command}: explanation lines kept`)
  }
})

t.test('failures exit 1 and never print the connection string or the secret', async (t) => {
  const url = 'postgres://someone:hunter2-password@127.0.0.1:1/nowhere'
  const run = await cli(['token', '--email', 'admin@demo.test'], { DATABASE_URL: url, JWT_SECRET: SECRET })
  t.equal(run.code, 1)
  t.equal(run.stdout, '')
  t.match(run.stderr, /^cli token: /)
  t.notMatch(run.stderr, 'hunter2')
  t.notMatch(run.stderr, SECRET)
  const short = await cli(['token', '--user', '1', '--tenant', '1', '--role', 'admin'], {
    JWT_SECRET: 'short',
  })
  t.equal(short.code, 1)
  t.match(short.stderr, /JWT_SECRET must be at least 16 characters/)
  t.notMatch(short.stderr, 'short', 'the value itself is not echoed')
})

t.test(
  `token --email on a database seeded by the CLI (${DATABASE_URL ? 'postgres' : 'pglite'})`,
  async (t) => {
    const dataDir = tempDir(t)
    const env: Record<string, string | undefined> = { JWT_SECRET: SECRET, DATA_DIR: dataDir }
    if (DATABASE_URL) {
      const schema = `cli_${randomBytes(5).toString('hex')}`
      Object.assign(env, { DATABASE_URL, DATABASE_SCHEMA: schema })
      t.teardown(async () => {
        const client = new pg.Client({ connectionString: DATABASE_URL })
        await client.connect()
        await client.query(`drop schema if exists "${schema}" cascade`)
        await client.end()
      })
    }

    const seeded = await cli(['seed', '--size', 'small', '--seed', '3'], env)
    t.equal(seeded.code, 0, seeded.stderr)
    t.match(seeded.stdout, /size small, seed 3/)
    t.match(seeded.stdout, /submissions\s+\d{4,}/)
    t.match(seeded.stderr, /submissions: /, 'plain progress lines when stderr is not a terminal')
    t.notMatch(seeded.stderr, '\r', 'no carriage returns off a terminal')
    // Honest counts: the last progress line of a table says the rows the summary says.
    for (const [phase, table] of [
      ['submissions', 'submissions'],
      ['material progress', 'material_progress'],
    ]) {
      const summaryRows = new RegExp(`^  ${table}\\s+(\\d+)$`, 'm').exec(seeded.stdout)?.[1]
      const lines = seeded.stderr.split('\n').filter((l) => l.startsWith(`${phase}: `))
      const last = /: ([\d,]+)\/([\d,]+) /.exec(lines.at(-1) ?? '')
      t.ok(summaryRows && last, `${phase}: a summary line and a progress line`)
      t.equal(
        last?.[1].replaceAll(',', ''),
        summaryRows,
        `${phase}: the progress line counts the rows written`,
      )
      // A line that counts rows (not the pairs considered on the way) counts them all.
      const rowLines = lines.filter((l) => /^[^(]*: [\d,]+\//.test(l))
      t.ok(
        rowLines.every((l) => l.includes(`${Number(summaryRows).toLocaleString('en-US')}/`)),
        `${phase}: no line calls pairs rows (${rowLines.join(' | ')})`,
      )
    }

    for (const [email, tid, role] of [
      ['admin@demo.test', 1, 'admin'],
      ['parent@demo.test', 1, 'parent'],
      ['admin@other.test', 2, 'admin'],
    ] as const) {
      const run = await cli(['token', '--email', email], env)
      t.equal(run.code, 0, run.stderr)
      const jwt = decode(run.stdout.trim(), SECRET)
      t.ok(jwt.signed, `${email}: signed`)
      t.match(jwt.claims, { tid, role }, `${email}: tenant and role`)
      if (email === 'admin@demo.test') t.equal(jwt.claims.sub, 1, 'admin@demo.test is user 1')
    }

    const unknown = await cli(['token', '--email', 'nobody@demo.test'], env)
    t.equal(unknown.code, 1)
    t.match(unknown.stderr, /no user with email nobody@demo.test/)

    const again = await cli(['seed'], env)
    t.equal(again.code, 1, 'a second seed is refused')
    t.match(again.stderr, /already has data; pass --reset/)
    const ifEmpty = await cli(['seed', '--if-empty'], env)
    t.equal(ifEmpty.code, 0, '--if-empty succeeds without seeding')
    t.match(ifEmpty.stderr, /nothing seeded/)

    if (!DATABASE_URL) {
      // A server holding the folder leaves postmaster.pid: readers use a copy, writers refuse.
      const pid = join(dataDir, 'pg', 'postmaster.pid')
      writeFileSync(pid, '-42\n')
      const read = await cli(['token', '--email', 'student@demo.test'], env)
      t.equal(read.code, 0, read.stderr)
      t.match(decode(read.stdout.trim(), SECRET).claims, { tid: 1, role: 'student' })
      t.ok(existsSync(pid), 'the live folder is left alone')
      const write = await cli(['seed', '--reset'], env)
      t.equal(write.code, 1)
      t.match(write.stderr, /open in another process/)
    }
  },
)
