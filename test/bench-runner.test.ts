// `npm run bench` points at a runner that exists and runs this folder's
// benchmarks (running one here would take minutes: only the listing and a
// usage error are exercised).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

t.test('npm run bench -- --list names the benchmarks of bench/', async (t) => {
  const list = spawnSync('npm', ['run', '-s', 'bench', '--', '--list'], { cwd: ROOT, encoding: 'utf8' })
  t.equal(list.status, 0, list.stderr)
  const names = list.stdout.trim().split('\n')
  t.same(names, ['hit', 'report-timings'])
  for (const name of names) t.ok(existsSync(join(ROOT, 'bench', `${name}.ts`)), `bench/${name}.ts exists`)
  const usage = spawnSync('bash', [join(ROOT, 'bench', 'hit', 'run.sh'), '--help'], { encoding: 'utf8' })
  t.equal(usage.status, 0, 'bench/hit/run.sh answers --help without running anything')
  t.match(usage.stdout, /SCENARIOS=/)
  const bad = spawnSync('npm', ['run', '-s', 'bench', '--', 'nope'], { cwd: ROOT, encoding: 'utf8' })
  t.equal(bad.status, 2, 'an unknown benchmark is a usage error')
  t.match(bad.stderr, /unknown benchmark nope \(benchmarks: hit, report-timings\)/)
})
