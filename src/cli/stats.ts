// `stats`: the figures of GET /cache/stats and GET /cache/hit-rate, for one
// tenant or every tenant, read from the shared (Redis) cache.
import { HIT_RATE_WINDOWS, type HitRateSummary, type HitRateWindowName } from '../cache/hit-rate.js'
import { type CacheStats, cacheStats } from '../reports/cache-ops.js'
import { withCacheApp } from './cache-app.js'
import { type Command, integerOption, parseOptions, stringOption, UsageError } from './command.js'
import { createProgress } from './progress.js'

const WINDOWS = Object.keys(HIT_RATE_WINDOWS) as HitRateWindowName[]

interface TenantFigures {
  tenant: number
  stats: CacheStats
  hit_rate: HitRateSummary
}

function bytes(n: number | null): string {
  if (n === null) return '?'
  if (n < 1024) return `${n} B`
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 ** 2).toFixed(1)} MiB`
}

function describe(f: TenantFigures, window: string): string {
  const { stats: s, hit_rate: h } = f
  const lines = [
    `tenant ${f.tenant}: ${s.backend} (${s.status}), ${s.keys ?? '?'} entries, ${bytes(s.memory_bytes)}`,
    `  hit rate (${window}): ${h.hit_rate.toFixed(2)}% of ${h.total_requests} requests ` +
      `(hits ${h.hits}, misses ${h.misses}, stale ${h.stale}, bypass ${h.bypass}, 304 ${h.not_modified}, ` +
      `coalesced ${h.coalesced})`,
  ]
  const types = [...new Set([...Object.keys(s.by_type), ...Object.keys(h.by_type)])].sort()
  for (const type of types) {
    const size = s.by_type[type]
    const rate = h.by_type[type]
    const parts = [size ? `${size.keys} entries, ${bytes(size.bytes)}` : '0 entries']
    if (rate)
      parts.push(`hit rate ${rate.hit_rate.toFixed(2)}% (${rate.hits} answered, ${rate.misses} computed)`)
    lines.push(`  ${type.padEnd(18)} ${parts.join('; ')}`)
  }
  const kinds = Object.keys(s.internal.by_kind).sort().join(', ')
  lines.push(
    `  ${'internal'.padEnd(18)} ${s.internal.keys} entries, ${bytes(s.internal.bytes)}${kinds ? ` (${kinds}: not reports)` : ''}`,
  )
  return lines.join('\n')
}

export const stats: Command = {
  usage: [
    `stats [--tenant T] [--window ${WINDOWS.join('|')}] [--json]`,
    '  cache size by type, TTLs, store status and hit rate (summed over every server), per tenant',
    '  Needs REDIS_URL or REDIS_CLUSTER_NODES (and REDIS_PREFIX if the servers use one).',
  ].join('\n'),

  async run(args, io) {
    const values = parseOptions(args, {
      tenant: { type: 'string' },
      window: { type: 'string', default: '1h' },
      json: { type: 'boolean', default: false },
    })
    const tenant = integerOption(values, 'tenant', 1, 2_147_483_647)
    const window = stringOption(values, 'window') as HitRateWindowName
    if (!WINDOWS.includes(window)) throw new UsageError(`--window must be one of ${WINDOWS.join(', ')}`)

    const figures = await withCacheApp(io, 'read', async (app) => {
      const tenants =
        tenant !== undefined
          ? [tenant]
          : (await app.db.selectFrom('tenants').select('id').orderBy('id').execute()).map((r) => r.id)
      const progress = createProgress(io.stderr)
      const result: TenantFigures[] = []
      for (const [i, tenantId] of tenants.entries()) {
        result.push({
          tenant: tenantId,
          stats: await cacheStats(app.reportCache, app.cachePolicy, tenantId),
          hit_rate: await app.hitRate.window(tenantId, HIT_RATE_WINDOWS[window]),
        })
        progress(i + 1, tenants.length, 'stats')
      }
      return result
    })

    if (values.json === true) {
      io.stdout.write(`${JSON.stringify(figures)}\n`)
      return
    }
    if (figures.length > 0) {
      const ttl = Object.entries(figures[0].stats.ttl_map)
        .map(([type, seconds]) => `${type} ${seconds}s`)
        .join(', ')
      io.stdout.write(`TTL: ${ttl}\n`)
    }
    for (const f of figures) io.stdout.write(`${describe(f, window)}\n`)
  },
}
