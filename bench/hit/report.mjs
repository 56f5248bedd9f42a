// Renders run.sh's samples (one line per scenario, size and round) as the
// markdown results table: medians over the rounds, ratios to A (and to V) at
// the same body size, and every failed check.
//
//   node report.mjs meta.json samples.tsv > results.md
import { readFileSync } from 'node:fs'

const [metaFile, samplesFile] = process.argv.slice(2)
const meta = JSON.parse(readFileSync(metaFile, 'utf8'))
const [head, ...lines] = readFileSync(samplesFile, 'utf8').trimEnd().split('\n')
const columns = head.split('\t')
const samples = lines.map((line) => Object.fromEntries(line.split('\t').map((v, i) => [columns[i], v])))

const SIZES = ['small', 'big']
const SCENARIOS = {
  A: 'A bare Fastify route, 200',
  B: 'B service, memory store, HIT 200',
  B304: 'B service, memory store, 304',
  C: 'C service, Redis store, HIT 200',
  C304: 'C service, Redis store, 304',
  V: 'V Varnish in front of A, HIT 200',
  MISS: `C service, Redis store, MISS (sequential, ${meta.missN} per round)`,
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const int = (n) => Math.round(n).toLocaleString('en-US')
const rate = (n) => (n >= 100 ? int(n) : n.toFixed(2))
const ms = (n) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2))
const ratio = (n) =>
  n === undefined || !Number.isFinite(n) ? '—' : n >= 0.1 ? n.toFixed(2) : n.toPrecision(2)

const groups = new Map()
for (const s of samples) {
  const key = `${s.size}/${s.scenario}`
  if (!groups.has(key)) groups.set(key, [])
  groups.get(key).push(s)
}
const stat = (size, scenario) => {
  const rows = groups.get(`${size}/${scenario}`)
  if (!rows) return undefined
  const rps = rows.map((r) => Number(r.rps))
  return {
    rows,
    bytes: Number(rows[0].bytes),
    rps: median(rps),
    min: Math.min(...rps),
    max: Math.max(...rps),
    p50: median(rows.map((r) => Number(r.p50_ms))),
    p99: median(rows.map((r) => Number(r.p99_ms))),
    notes: rows.filter((r) => r.notes).map((r) => `round ${r.round}: ${r.notes}`),
  }
}

const out = []
const push = (line = '') => out.push(line)
const defs = meta.definitions
const target = (i) => `≈${Math.round(defs[i].target / 1024)} KB`

push(`## Report cache-hit throughput, ${meta.stamp}`)
push()
push(
  `Dataset: ${meta.size} seed (${Number(meta.submissions).toLocaleString('en-US')} submissions), fresh database. ` +
    `Load: \`wrk -t${meta.threads} -c${meta.connections} -d${meta.dur}s --latency\` on CPU ${meta.loadCpu} after a ${meta.warmup} s warm-up, ` +
    `every request with the admin's \`Authorization\` header; servers on CPU ${meta.serverCpu} (all four up for the whole run, ` +
    `idle when not measured). ${meta.rounds} interleaved round(s) (${[...meta.scenarios, ...(meta.miss ? ['MISS'] : [])].join(', ')} per size); ` +
    `req/s is the median (min–max) over the rounds, p50/p99 the medians of wrk's latency distribution.`,
)
push()
push('Report definitions (created with `POST /reports`, body bytes measured):')
push()
defs.forEach((d, i) => {
  push(
    `- ${target(i)}: report ${d.id} \`${d.type} ${JSON.stringify(d.params)}\` ("${d.title}"), ` +
      `**${d.bytes.toLocaleString('en-US')} bytes**, first GET (MISS) ${d.miss_ms} ms`,
  )
})
push()
push(
  '| scenario | body bytes | req/s median (min–max) | p50 ms | p99 ms | ratio to A | ratio to V | checks |',
)
push('|---|---:|---:|---:|---:|---:|---:|---|')
let failed = 0
for (const [i, size] of SIZES.entries()) {
  const a = stat(size, 'A')
  const v = stat(size, 'V')
  for (const scenario of Object.keys(SCENARIOS)) {
    const s = stat(size, scenario)
    if (!s) continue
    failed += s.notes.length
    const bytes = scenario.endsWith('304')
      ? `0 (304 of ${s.bytes.toLocaleString('en-US')})`
      : s.bytes.toLocaleString('en-US')
    push(
      `| ${SCENARIOS[scenario]}, ${target(i)} | ${bytes} | ${rate(s.rps)} (${rate(s.min)}–${rate(s.max)}) | ` +
        `${ms(s.p50)} | ${ms(s.p99)} | ${ratio(a && s.rps / a.rps)} | ${ratio(v && s.rps / v.rps)} | ` +
        `${s.notes.length ? `**${s.notes.join('; ')}**` : 'ok'} |`,
    )
  }
}
push()
if (meta.miss) {
  for (const [i, size] of SIZES.entries()) {
    const hit = stat(size, 'C')
    const miss = stat(size, 'MISS')
    if (hit && miss) {
      push(
        `- ${target(i)}: C HIT (c=${meta.connections}) / C MISS (one at a time) = **${int(hit.rps / miss.rps)}×**; ` +
          `MISS p50 ${ms(miss.p50)} ms`,
      )
    }
  }
  push()
}
push(
  'Checks, per measurement: before it, curl saw the expected answer (200 and X-Cache HIT, or 304 with X-Cache HIT and no ' +
    "body, with the body's byte count); during it, wrk saw no non-2xx/3xx answer and no socket error, the bytes read per " +
    'answer fit the scenario, and the counters of the server (B/C: `report_cache_requests_total` from /metrics; V: ' +
    '`MAIN.cache_hit`/`cache_miss`) moved only by HITs (or 304s) — at least as many as wrk counted, no miss, stale or bypass; ' +
    'B/C also: no `report_cache_store_errors_total` increase and no line in the service log (LOG_LEVEL=' +
    meta.logLevel +
    '). ' +
    'MISS: every GET answered 200 with X-Cache MISS.',
)
push()
push(
  `Environment: ${meta.cpus} CPUs, load average ${meta.loadBefore} before and ${meta.loadAfter} after; ` +
    `service ${meta.commit}${meta.dirty ? ' (with uncommitted changes)' : ''}, LOG_LEVEL=${meta.logLevel}, started as ` +
    '`node --import tsx src/server.ts`; ' +
    `Node ${meta.node}, Fastify ${meta.fastify}, wrk ${meta.wrk}, ${meta.varnish}, Redis ${meta.redis} (db 13, shared server, not pinned), ` +
    `Postgres ${meta.postgres}.`,
)
if (failed > 0) {
  push()
  push(`**${failed} measurement(s) failed a check** (see the checks column): those figures are not valid.`)
}
process.stdout.write(`${out.join('\n')}\n`)
