// GET /cache/hit-rate: how the tenant's report GETs were answered over a window.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { HIT_RATE_WINDOWS, type HitRateWindowName } from '../../src/cache/hit-rate.js'
import { UrlBoolean } from '../../src/input-schemas.js'
import { Nullable } from '../../src/response-schemas.js'
import { adminErrors } from './schemas.js'

const WINDOW_NAMES = Object.keys(HIT_RATE_WINDOWS) as HitRateWindowName[]

const Query = Type.Object(
  {
    window: Type.Optional(
      Type.Enum(WINDOW_NAMES, { default: '1h', description: 'The last 1m, 5m, 1h or 24h' }),
    ),
    series: Type.Optional(
      UrlBoolean({
        description:
          'Also return `series`: one point per bucket of `bucket_seconds` (10 s up to 5m, 60 s beyond)',
      }),
    ),
  },
  { additionalProperties: false },
)

const Rate = Type.Number({ minimum: 0, maximum: 100, description: 'Percentage, 2 decimals' })

const HitRateSchema = Type.Object({
  hits: Type.Integer({ description: 'X-Cache HIT, including `coalesced` (answered without computing)' }),
  misses: Type.Integer({ description: 'Computed now (X-Cache MISS, not counting coalesced waiters)' }),
  stale: Type.Integer({ description: 'Served past freshness (X-Cache STALE)' }),
  bypass: Type.Integer({ description: 'Computed without the cache (X-Cache BYPASS)' }),
  not_modified: Type.Integer({ description: '304 answered from the cache without computing' }),
  coalesced: Type.Integer({
    description: "Of `hits`: requests that waited on another request's computation (X-Cache MISS)",
  }),
  total_requests: Type.Integer({ description: 'hits + misses + stale + bypass + not_modified' }),
  hit_rate: Type.Number({
    minimum: 0,
    maximum: 100,
    description: '(hits + stale + not_modified) / total_requests × 100, 0 without requests',
  }),
  by_type: Type.Record(
    Type.String(),
    Type.Object({
      hits: Type.Integer({ description: 'Answered without computing: HIT, coalesced, STALE, 304' }),
      misses: Type.Integer({ description: 'Computed: MISS and BYPASS' }),
      hit_rate: Rate,
    }),
  ),
  window_seconds: Type.Integer(),
  bucket_seconds: Type.Integer({ description: 'Width of the time buckets the window is made of' }),
  last_updated: Nullable(Type.String({ format: 'date-time' }), {
    description: 'Time of the newest request counted in the window; null when none',
  }),
  source: Type.Enum(['shared', 'instance'], {
    description:
      '`shared`: summed over every instance (Redis); `instance`: this process only (memory store, or Redis unreachable)',
  }),
  series: Type.Optional(
    Type.Array(
      Type.Object({
        start: Type.String({ format: 'date-time' }),
        total_requests: Type.Integer(),
        hit_rate: Nullable(Rate),
      }),
    ),
  ),
})

const hitRateRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/hit-rate',
    {
      schema: {
        tags: ['cache'],
        summary: "Share of the tenant's report GETs answered without computing, summed over every instance",
        description:
          'Counted per request when the response is sent; each instance flushes its counts to Redis at most ' +
          'once a second, so other instances appear within about a second. Warming is not counted.',
        querystring: Query,
        response: { 200: HitRateSchema, ...adminErrors },
      },
    },
    async (request, reply) => {
      const { window = '1h', series = false } = request.query
      const summary = await app.hitRate.window(request.principal.tenantId, HIT_RATE_WINDOWS[window], {
        series,
      })
      reply.header('cache-control', 'no-store')
      return summary
    },
  )
}

export default hitRateRoute
