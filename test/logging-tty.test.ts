// Pretty output on a terminal, JSON lines everywhere else: the same logger
// options run once under a pseudo-terminal (util-linux `script`) and once on
// a pipe.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const COMMAND = 'node --import tsx test/fixtures/log-one-line.ts'

t.test('on a pipe: one JSON line', async (t) => {
  const run = spawnSync('sh', ['-c', COMMAND], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
  t.equal(run.status, 0, run.stderr)
  const line = JSON.parse(run.stdout.trim())
  t.match(line, { level: 30, msg: 'logging.tty.check', probe: 'tty' })
})

t.test('on a terminal: pino-pretty, not JSON', async (t) => {
  // `script -qec CMD /dev/null` gives CMD a pseudo-terminal as stdout.
  const run = spawnSync('script', ['-qec', COMMAND, '/dev/null'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  })
  t.equal(run.status, 0, run.stderr)
  const out = run.stdout.replace(/\r/g, '').trim()
  t.match(out, /INFO/, 'a level word')
  t.match(out, /logging\.tty\.check/, 'the message')
  t.throws(() => JSON.parse(out), 'not a JSON line')
})
