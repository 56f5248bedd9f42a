// `src/server.ts` runs the service in a thread whose heap it configures
// (README, "Production start"): the young generation YOUNG_GENERATION_MB asks
// for, seen from the service's own /metrics; bad values and start failures
// inside the thread still stop the process with a message naming the cause.
import { spawnSync } from 'node:child_process'
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
  const service = start({ PORT: '80x' })
  t.equal(service.status, 1)
  t.match(service.stderr, 'Invalid configuration: PORT must be a whole number, got "80x"')
})
