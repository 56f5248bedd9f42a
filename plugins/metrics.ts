// Provides app.metrics: a prom-client registry of this app (never the global
// default registry: tests build several apps per process) with the service's
// instruments; routes/metrics.ts serves it. Sources: an onResponse hook (request
// latency), the report cache's events (how report GETs were answered,
// computations, coalesced waits: src/cache/cache-events.ts), the invalidation
// events (reasons), the cache's event counters and the store's health (read at
// scrape time).

import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { onCacheEvent } from '../src/cache/cache-events.js'
import { type AnswerField, answerOf } from '../src/cache/hit-rate.js'
import type { EventCounts } from '../src/cache/stats.js'
import { onInvalidation } from '../src/invalidation-events.js'
import { RequestHistogram } from '../src/request-histogram.js'

export interface ServiceMetrics {
  readonly registry: Registry
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServiceMetrics
  }
}

/** `result` label values, as in API.md's vocabulary. */
const RESULT_LABEL: Record<AnswerField, string> = {
  hits: 'hit',
  misses: 'miss',
  stale: 'stale',
  bypass: 'bypass',
  not_modified: 'not_modified',
  coalesced: 'coalesced',
}

// Two levels up from plugins/ and from dist/plugins/ alike: the package root.
const PACKAGE_VERSION = (() => {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as {
        name?: string
        version?: string
      }
      if (pkg.name === 'report-service' && pkg.version) return pkg.version
    } catch {
      // Not there: try the next.
    }
  }
  return 'unknown'
})()

const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const

/**
 * prom-client hashes a label set on every call: keep each set's child, found
 * through one map per label (nothing built per request; bounded label values).
 */
function labelled2<T>(make: (a: string, b: string) => T): (a: string, b: string) => T {
  const byA = new Map<string, Map<string, T>>()
  return (a, b) => {
    let byB = byA.get(a)
    if (!byB) {
      byB = new Map()
      byA.set(a, byB)
    }
    let child = byB.get(b)
    if (child === undefined) {
      child = make(a, b)
      byB.set(b, child)
    }
    return child
  }
}

function labelled3<T>(make: (a: string, b: string, c: string) => T): (a: string, b: string, c: string) => T {
  const byA = new Map<string, (b: string, c: string) => T>()
  return (a, b, c) => {
    let rest = byA.get(a)
    if (!rest) {
      rest = labelled2((b2, c2) => make(a, b2, c2))
      byA.set(a, rest)
    }
    return rest(b, c)
  }
}

const EVENT_LABEL: Partial<Record<keyof EventCounts, string>> = {
  failedInvalidations: 'failed_invalidation',
  refusedWrites: 'refused_write',
  oversize: 'oversize',
  refreshErrors: 'refresh_error',
}

async function metrics(app: FastifyInstance): Promise<void> {
  const registry = new Registry()
  // process_* and nodejs_* (CPU, memory, handles, event loop lag, GC), as every Node exporter has.
  collectDefaultMetrics({ register: registry })
  new Gauge({
    name: 'report_service_build_info',
    help: 'Always 1; the labels say which build runs (version from package.json, Node version, BUILD_REVISION if set)',
    labelNames: ['version', 'node_version', 'revision'] as const,
    registers: [registry],
  }).set(
    {
      version: PACKAGE_VERSION,
      node_version: process.version,
      revision: process.env.BUILD_REVISION || 'unknown',
    },
    1,
  )
  const cache = app.reportCache
  const backend = cache.store.backend

  // Observed on every request: tallies of our own (request-histogram.ts), read at scrape time.
  const httpDuration = new RequestHistogram(
    'http_request_duration_seconds',
    'HTTP request latency by route pattern, method and status code',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registry,
  )
  const durationOf = labelled3((method, route, status) =>
    httpDuration.child({ method, route, status_code: status }),
  )
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, never the raw URL: bounded label values.
    const route = request.routeOptions.url ?? 'unmatched'
    durationOf(request.method, route, String(reply.statusCode)).observe(reply.elapsedTime / 1000)
    done()
  })

  // Counted on every report GET: plain tallies, added to the counter when scraped.
  const answerTallies: { labels: { type: string; result: string }; n: number }[] = []
  const answerOfKind = labelled2((type, result) => {
    const tally = { labels: { type, result }, n: 0 }
    answerTallies.push(tally)
    return tally
  })
  new Counter({
    name: 'report_cache_requests_total',
    help: 'Report GETs by report type and how they were answered (hit, miss, stale, bypass, not_modified, coalesced)',
    labelNames: ['type', 'result'] as const,
    registers: [registry],
    collect() {
      for (const tally of answerTallies) {
        if (tally.n === 0) continue
        this.inc(tally.labels, tally.n)
        tally.n = 0
      }
    },
  })

  const coalesced = new Counter({
    name: 'report_cache_coalesced_waits_total',
    help: "Cache reads that waited on another request's computation (in this or another process) instead of computing",
    labelNames: ['type'] as const,
    registers: [registry],
  })
  const computeDuration = new Histogram({
    name: 'report_computation_duration_seconds',
    help: 'Time to compute a report body from Postgres, by report type and outcome',
    labelNames: ['type', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  })
  const unobserve = onCacheEvent(cache, (event) => {
    if (event.type === 'compute') {
      computeDuration.observe({ type: event.kind, outcome: event.ok ? 'ok' : 'error' }, event.seconds)
      return
    }
    if (event.result === 'coalesced') coalesced.inc({ type: event.kind })
    // Client reads only, like GET /cache/hit-rate (warming is not a request).
    if (!event.warming) answerOfKind(event.kind, RESULT_LABEL[answerOf(event.result, event.notModified)]).n++
  })
  app.addHook('onClose', async () => unobserve())

  const invalidations = new Counter({
    name: 'report_cache_invalidations_total',
    help: 'Invalidations (tag version bumps) by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  // Every bump this app makes is published on the invalidation channel: count it by reason.
  const unsubscribe = onInvalidation(app.invalidation, (e) => invalidations.inc({ reason: e.reason }))
  app.addHook('onClose', async () => unsubscribe())

  // The cache keeps monotonic counters of its own; publish their growth at scrape time.
  const seen = new Map<keyof EventCounts, number>()
  const growth = (event: keyof EventCounts): number => {
    const now = cache.counters.events[event]
    const before = seen.get(event) ?? 0
    seen.set(event, now)
    return now >= before ? now - before : now
  }
  new Counter({
    name: 'report_cache_store_errors_total',
    help: 'Cache store operations that failed (Redis timeouts, connection errors, open circuit); the request was served from Postgres',
    labelNames: ['backend'] as const,
    registers: [registry],
    collect() {
      this.inc({ backend }, growth('storeErrors'))
    },
  })
  new Counter({
    name: 'report_cache_events_total',
    help: 'Other cache events: failed_invalidation (kept and re-sent), refused_write (a tag moved during the computation), oversize, refresh_error',
    labelNames: ['event'] as const,
    registers: [registry],
    collect() {
      for (const [event, label] of Object.entries(EVENT_LABEL)) {
        this.inc({ event: label }, growth(event as keyof EventCounts))
      }
    },
  })
  const redisErrors = new Counter({
    name: 'redis_connection_errors_total',
    help: 'Errors reported by the Redis connection (disconnects, refused connections)',
    registers: [registry],
  })
  if (app.hasDecorator('redis')) app.redis.on('error', () => redisErrors.inc())

  const store = cache.store
  new Gauge({
    name: 'report_cache_breaker_state',
    help: 'Circuit breaker in front of Redis: 0 closed, 1 half-open, 2 open (always 0 with the memory store)',
    registers: [registry],
    collect() {
      this.set(BREAKER_VALUE[store.breakerState?.() ?? 'closed'])
    },
  })
  new Gauge({
    name: 'report_cache_degraded',
    help: '1 while the cache store is degraded (breaker not closed, Redis not ready or invalidations pending), else 0',
    registers: [registry],
    collect() {
      this.set(cache.health() === 'operational' ? 0 : 1)
    },
  })
  new Gauge({
    name: 'report_cache_pending_invalidations',
    help: 'Tag bumps not yet delivered to Redis (nothing of their tenant is served from the cache meanwhile)',
    registers: [registry],
    collect() {
      this.set(store.pendingInvalidations?.() ?? 0)
    },
  })

  app.decorate<ServiceMetrics>('metrics', {
    registry,
  })
}

export default fp(metrics, {
  name: 'metrics',
  dependencies: ['report-cache', 'invalidation'],
})
