// Provides app.cachePolicy: the cache policy of each report type (server TTL,
// client max-age, stale windows), API.md defaults overridden by CACHE_POLICY.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { type CachePolicy, type PolicyOverrides, PolicyTable } from '../src/cache/policy.js'

export interface TtlPolicyOptions {
  overrides?: PolicyOverrides
}

declare module 'fastify' {
  interface FastifyInstance {
    cachePolicy: PolicyTable
  }
}

// Entries are invalidated exactly by tag versions, so an entry past its TTL
// whose tags have not moved still holds current data: serving it while one
// refresh runs (or while Postgres is down) never shows a pre-mutation answer.
const SERVER_STALE = { maxAge: 0, staleWhileRevalidate: 60, staleIfError: 3600 }

export const DEFAULT_POLICIES: Record<string, CachePolicy> & { default: CachePolicy } = {
  student_progress: { ttl: 300, ...SERVER_STALE },
  grade_distribution: { ttl: 900, ...SERVER_STALE },
  analytics: { ttl: 1800, ...SERVER_STALE },
  custom: { ttl: 3600, ...SERVER_STALE },
  default: { ttl: 600, ...SERVER_STALE },
}

async function ttlPolicy(app: FastifyInstance, opts: TtlPolicyOptions): Promise<void> {
  app.decorate('cachePolicy', new PolicyTable(DEFAULT_POLICIES, opts.overrides ?? {}))
}

export default fp(ttlPolicy, { name: 'ttl-policy' })
