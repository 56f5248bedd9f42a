// `src/server.ts` runs the service in a thread whose heap it configures
// (README, "Production start"): the young generation YOUNG_GENERATION_MB asks
// for, seen from the service's own /metrics; the helper threads at the nice
// value BACKGROUND_THREAD_NICE asks for, the service thread at its own, seen
// in /proc; bad values and start failures inside the thread still stop the
// process with a message naming the cause.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { TEST_JWT_SECRET } from './helpers/app.js'
import { startChildServer } from './helpers/child-server.js'
import { createTestDatabase } from './helpers/database.js'

const MiB = 1024 * 1024

async function newSpaceBytes(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const line = /^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(text)
  if (!line) throw new Error('no new-space gauge in /metrics')
  return Number(line[1])
}

t.test('the service thread has the young generation YOUNG_GENERATION_MB sets', async (t) => {
  const db = await createTestDatabase(t)
  for (const youngMb of [6, 24]) {
    const child = await startChildServer(t, {
      DATABASE_URL: db.databaseUrl ?? '',
      DATABASE_SCHEMA: db.schema ?? '',
      JWT_SECRET: TEST_JWT_SECRET,
      YOUNG_GENERATION_MB: String(youngMb),
    })
    // Two of V8's three equal young spaces are the semi-spaces the gauge sums.
    // Node's default starts at 1 MiB and grows to 32 MiB: neither value.
    t.equal(await newSpaceBytes(child.base), (youngMb / 3) * 2 * MiB, `YOUNG_GENERATION_MB=${youngMb}`)
    await child.stop('SIGTERM')
    t.equal(child.child.exitCode, 0, 'a graceful close exits 0')
  }
})

interface ThreadState {
  tid: number
  nice: number
  /** User and system time, in clock ticks. */
  cpu: number
}

/** proc_pid_stat(5): fields after the parenthesised name; nice is field 19, utime and stime 14 and 15. */
function threadsOf(pid: number): ThreadState[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    } catch {
      return [] // ended meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return [{ tid: Number(tid), nice: Number(fields[16]), cpu: Number(fields[11]) + Number(fields[12]) }]
  })
}

t.test(
  'helper threads run at BACKGROUND_THREAD_NICE, the launcher and the service thread at their own',
  { skip: process.platform === 'linux' ? false : 'thread priorities are set on Linux only' },
  async (t) => {
    const db = await createTestDatabase(t)
    for (const nice of [19, 0]) {
      const child = await startChildServer(t, {
        DATABASE_URL: db.databaseUrl ?? '',
        DATABASE_SCHEMA: db.schema ?? '',
        JWT_SECRET: TEST_JWT_SECRET,
        ...(nice === 19 ? {} : { BACKGROUND_THREAD_NICE: String(nice) }),
      })
      const pid = child.child.pid ?? 0
      // Requests make the service thread the busiest thread by far (it also did the whole start).
      for (let i = 0; i < 200; i++) await (await fetch(`${child.base}/metrics`)).text()
      const threads = threadsOf(pid)
      const busiest = threads.reduce((a, b) => (b.cpu > a.cpu ? b : a))
      t.not(busiest.tid, pid, 'the busiest thread is not the launcher')
      t.equal(busiest.nice, 0, `BACKGROUND_THREAD_NICE=${nice}: the service thread keeps nice 0`)
      t.equal(threads.find((x) => x.tid === pid)?.nice, 0, 'the launcher keeps nice 0')
      const lowered = threads.filter((x) => x.nice === 19).length
      if (nice === 19)
        t.ok(lowered >= 2, `V8's helper threads run at nice 19 (${lowered} of ${threads.length})`)
      else t.equal(lowered, 0, 'BACKGROUND_THREAD_NICE=0 leaves every thread as started')
      await child.stop('SIGTERM')
      t.equal(child.child.exitCode, 0, 'a graceful close exits 0')
    }
  },
)

function start(env: Record<string, string>): { status: number | null; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { status: run.status, stderr: run.stderr }
}

t.test('configuration errors stop the start, from either thread', async (t) => {
  const launcher = start({ YOUNG_GENERATION_MB: '2' })
  t.equal(launcher.status, 1)
  t.match(launcher.stderr, 'Invalid configuration: YOUNG_GENERATION_MB must be between 3 and 1024, got 2')
  const nice = start({ BACKGROUND_THREAD_NICE: '20' })
  t.equal(nice.status, 1)
  t.match(nice.stderr, 'Invalid configuration: BACKGROUND_THREAD_NICE must be between 0 and 19, got 20')
  const service = start({ PORT: '80x' })
  t.equal(service.status, 1)
  t.match(service.stderr, 'Invalid configuration: PORT must be a whole number, got "80x"')
})
