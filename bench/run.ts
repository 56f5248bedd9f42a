// `npm run bench [-- NAME… [-- ARGS…]]`: runs the benchmarks of this folder one
// after the other (never together: they would share the machine), each in its
// own process, with the arguments after a second `--` passed to each.
// `npm run bench -- --list` names them. Exit 1 when one fails, 2 on a usage error.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
/** In the order README.md describes them. */
export const BENCHMARKS = ['hit', 'report-timings'] as const

const argv = process.argv.slice(2)
const split = argv.indexOf('--')
const names = split < 0 ? argv : argv.slice(0, split)
const passed = split < 0 ? [] : argv.slice(split + 1)

if (names.includes('--list')) {
  process.stdout.write(`${BENCHMARKS.join('\n')}\n`)
  process.exit(0)
}
const unknown = names.filter((n) => !(BENCHMARKS as readonly string[]).includes(n))
if (unknown.length > 0) {
  process.stderr.write(
    `bench: unknown benchmark ${unknown.join(', ')} (benchmarks: ${BENCHMARKS.join(', ')})\n`,
  )
  process.exit(2)
}
let failed = 0
for (const name of names.length > 0 ? names : BENCHMARKS) {
  process.stderr.write(`bench: ${name}\n`)
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(HERE, `${name}.ts`), ...passed], {
    stdio: 'inherit',
  })
  if (run.status !== 0) {
    failed++
    process.stderr.write(`bench: ${name} failed (${run.signal ?? `exit ${run.status}`})\n`)
  }
}
process.exit(failed > 0 ? 1 : 0)
