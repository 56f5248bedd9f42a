// `npm run bench -- hit [-- ARGS…]`: cache-hit throughput as ratios measured
// in one run (bench/hit/run.sh, bench/hit/README.md): the service on its memory
// store (B) and on Redis (C), HIT and 304, at ≈2 KB and ≈50 KB, side by side
// with a bare Fastify route answering the same bytes (A, the ceiling) and
// Varnish in front of it (V); wrk pinned to one core and the servers to the
// other (taskset), interleaved rounds, medians. ARGS and the environment
// (DUR, ROUNDS, SCENARIOS, OUT_DIR…) go to run.sh as they are.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const run = spawnSync('bash', [join(HERE, 'hit', 'run.sh'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, MAIN: process.env.MAIN ?? join(HERE, '..') },
})
process.exit(run.status ?? 1)
