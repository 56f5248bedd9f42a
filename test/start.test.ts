// `npm start` as CI, systemd or `timeout` run it: they signal the pid they
// started (npm's). npm forwards SIGTERM to its child, and the script `exec`s
// node, so that child is the server itself (no sh or tsx process in between
// to die and orphan it): it handles the signal (graceful close) and exits,
// and npm exits after it. The production start (`npm run start:prod`, on the
// built dist/) is the same process shape; the Dockerfile runs it without npm.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import t, { type Test } from 'tap'
import { until } from './cache/store-contract.js'
import { freePort } from './helpers/redis-server.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'

interface Started {
  npm: ChildProcess
  lines: Array<Record<string, unknown>>
  exited: Promise<number | null>
  port: number
}

async function startWithNpm(t: Test, script: string): Promise<Started> {
  const schema = `start_${randomBytes(5).toString('hex')}`
  t.teardown(async () => {
    const client = new pg.Client({ connectionString: DATABASE_URL })
    await client.connect()
    await client.query(`drop schema if exists "${schema}" cascade`)
    await client.end()
  })
  const port = await freePort()
  // No shell of our own: the argv a unit file or CI step would run.
  const npm = spawn('npm', ['run', '-s', script], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      JWT_SECRET: 'start-test-secret-long-enough',
      PORT: String(port),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: Array<Record<string, unknown>> = []
  let buffer = ''
  npm.stdout?.on('data', (chunk) => {
    buffer += chunk
    const parts = buffer.split('\n')
    buffer = parts.pop() ?? ''
    for (const text of parts) if (text.startsWith('{')) lines.push(JSON.parse(text))
  })
  let stderr = ''
  npm.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  // 'close', not 'exit': it comes after npm's stdout ended, so every line the server wrote is in `lines`.
  const exited = new Promise<number | null>((resolve) => npm.once('close', (code) => resolve(code)))
  t.teardown(() => {
    if (npm.exitCode === null) npm.kill('SIGKILL')
  })
  await until(
    () => lines.some((l) => l.msg === 'server.ready') || npm.exitCode !== null,
    'server.ready',
    120_000,
  )
  if (npm.exitCode !== null) throw new Error(`${script} exited early: ${stderr}`)
  return { npm, lines, exited, port }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function parentOf(pid: number): number {
  // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces, so split after ")".
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

async function signalAndCheck(t: Test, s: Started): Promise<void> {
  const ready = s.lines.find((l) => l.msg === 'server.ready')
  const serverPid = ready?.pid as number
  t.ok(alive(serverPid), 'the server runs')
  t.equal(parentOf(serverPid), s.npm.pid, "the server is npm's own child: no sh or tsx in between")
  t.equal((await fetch(`http://127.0.0.1:${s.port}/health`)).status, 200)

  s.npm.kill('SIGTERM')
  t.equal(await s.exited, 0, 'npm exits 0 after the server shut down gracefully')
  await until(() => !alive(serverPid), 'the server process to end', 20_000)
  t.ok(
    s.lines.some((l) => l.msg === 'server.shutdown' && l.signal === 'SIGTERM' && l.pid === serverPid),
    'the server handled SIGTERM itself (server.shutdown)',
  )
  await t.rejects(fetch(`http://127.0.0.1:${s.port}/health`), 'nothing listens any more')
}

t.test('npm start: SIGTERM to the pid started stops the server', async (t) => {
  await signalAndCheck(t, await startWithNpm(t, 'start'))
})

t.test('npm run start:prod on the built dist/', async (t) => {
  const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, encoding: 'utf8' })
  t.equal(build.status, 0, build.stderr)
  t.ok(existsSync(join(ROOT, 'dist/src/server.js')), 'dist/src/server.js built')
  await signalAndCheck(t, await startWithNpm(t, 'start:prod'))
})
