// Environment → typed, validated configuration. Every bad value stops the
// process at start with a message naming the variable; secrets are never echoed.
import { type PolicyOverrides, parsePolicyOverrides } from './cache/policy.js'
import { ConfigError, integer } from './config-values.js'
import { REPORT_TYPE_NAMES } from './reports/registry.js'

export { ConfigError }

export interface Config {
  host: string
  port: number
  /** postgres:// URL; undefined selects the embedded PGlite engine. */
  databaseUrl?: string
  /** Postgres schema to use (tests isolate themselves with their own). */
  databaseSchema?: string
  /** redis:// URL; undefined selects the in-memory store (or a cluster, below). */
  redisUrl?: string
  /** Startup nodes of a Redis Cluster (REDIS_CLUSTER_NODES), instead of redisUrl. */
  redisClusterNodes?: { host: string; port: number }[]
  /** postgres:// URL of a streaming replica of databaseUrl, for report computations. */
  databaseReplicaUrl?: string
  /** A replica that has not replayed what the primary had this long ago is `lagging`: unused. */
  replicaMaxLagMs: number
  /** Prefix of every Redis key this process writes (tests use their own). */
  redisPrefix: string
  redisCommandTimeoutMs: number
  /** HS256 secret; undefined in embedded mode means "read or create one in dataDir". */
  jwtSecret?: string
  /** Folder of the embedded database and the generated secret. */
  dataDir: string
  logLevel: string
  cachePolicy: PolicyOverrides
  cacheMaxEntries: number
  cacheMaxBytes: number
  /** Report bodies above this size are served uncached (X-Cache: BYPASS). */
  cacheMaxEntryBytes: number
  /** Most cache bytes one tenant holds; over it, its own oldest entries go (both stores). */
  cacheTenantMaxBytes: number
  /** Most cache bytes the reads of one user hold (product default 50 MiB); over it, its own oldest go. */
  cacheUserMaxBytes: number
  /** Longest wait of a mutation for its invalidation to be delivered by another instance (then X-Invalidation: pending). */
  invalidationWaitMs: number
  /** The relay's backstop poll (NOTIFY wakes it sooner) and heartbeat. */
  invalidationPollMs: number
  /** How often delivered log records are pruned. */
  invalidationPruneMs: number
  /** A log consumer (an instance's store) silent this long is dropped; it resets its store on return. */
  invalidationConsumerTimeoutSeconds: number
  /** Seed demo data when the embedded database is new. */
  seedOnFirstStart: boolean
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

function url(env: NodeJS.ProcessEnv, name: string, protocols: string[]): string | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    // The value may hold a password: never repeat it.
    throw new ConfigError(name, `is not a valid URL (expected ${protocols.join(' or ')}//…)`)
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${parsed.protocol}`)
  }
  return raw
}

const HOST_PORT = /^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):(\d{1,5})$/

function clusterNodes(env: NodeJS.ProcessEnv): Config['redisClusterNodes'] {
  const raw = env.REDIS_CLUSTER_NODES
  if (raw === undefined || raw === '') return undefined
  if (env.REDIS_URL) throw new ConfigError('REDIS_CLUSTER_NODES', 'and REDIS_URL must not both be set')
  return raw.split(',').map((item) => {
    const match = HOST_PORT.exec(item.trim())
    const port = Number(match?.[2])
    if (!match || port < 1 || port > 65535)
      throw new ConfigError(
        'REDIS_CLUSTER_NODES',
        `must be host:port,host:port,…; got ${JSON.stringify(item)}`,
      )
    return { host: match[1].replace(/^\[|\]$/g, ''), port }
  })
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = env.LOG_LEVEL || 'info'
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`)
  const jwtSecret = env.JWT_SECRET || undefined
  if (jwtSecret !== undefined && jwtSecret.length < 16) {
    throw new ConfigError('JWT_SECRET', 'must be at least 16 characters long')
  }
  const schema = env.DATABASE_SCHEMA || undefined
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError('DATABASE_SCHEMA', 'must be a lower-case SQL identifier')
  }
  let cachePolicy: PolicyOverrides = {}
  if (env.CACHE_POLICY) {
    try {
      cachePolicy = parsePolicyOverrides(env.CACHE_POLICY, [...REPORT_TYPE_NAMES, 'default'])
    } catch (err) {
      throw new ConfigError('CACHE_POLICY', (err as Error).message)
    }
  }
  return {
    host: env.HOST || '127.0.0.1',
    port: integer(env, 'PORT', 3000, 0, 65535),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databaseSchema: schema,
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisClusterNodes: clusterNodes(env),
    databaseReplicaUrl: replicaUrl(env),
    replicaMaxLagMs: integer(env, 'REPLICA_MAX_LAG_MS', 5000, 10, 3_600_000),
    redisPrefix: env.REDIS_PREFIX || 'rs:',
    redisCommandTimeoutMs: integer(env, 'REDIS_COMMAND_TIMEOUT_MS', 250, 10, 60_000),
    jwtSecret,
    dataDir: env.DATA_DIR || './.data',
    logLevel,
    cachePolicy,
    cacheMaxEntries: integer(env, 'CACHE_MAX_ENTRIES', 10_000, 1, 10_000_000),
    cacheMaxBytes: integer(env, 'CACHE_MAX_BYTES', 256 * 1024 * 1024, 1024, 64 * 1024 ** 3),
    cacheMaxEntryBytes: integer(env, 'CACHE_MAX_ENTRY_BYTES', 4 * 1024 * 1024, 1, 1024 ** 3),
    ...cacheBudgets(env),
    invalidationWaitMs: integer(env, 'INVALIDATION_WAIT_MS', 2000, 0, 60_000),
    invalidationPollMs: integer(env, 'INVALIDATION_POLL_MS', 1000, 10, 60_000),
    invalidationPruneMs: integer(env, 'INVALIDATION_PRUNE_MS', 5000, 10, 3_600_000),
    invalidationConsumerTimeoutSeconds: integer(env, 'INVALIDATION_CONSUMER_TIMEOUT_S', 60, 5, 86_400),
    seedOnFirstStart: env.SEED_ON_FIRST_START !== 'false',
  }
}

function replicaUrl(env: NodeJS.ProcessEnv): string | undefined {
  const replica = url(env, 'DATABASE_REPLICA_URL', ['postgres:', 'postgresql:'])
  if (replica !== undefined && !env.DATABASE_URL)
    throw new ConfigError('DATABASE_REPLICA_URL', 'needs DATABASE_URL (the primary it replicates)')
  return replica
}

function cacheBudgets(env: NodeJS.ProcessEnv): Pick<Config, 'cacheTenantMaxBytes' | 'cacheUserMaxBytes'> {
  const cacheTenantMaxBytes = integer(env, 'CACHE_TENANT_MAX_BYTES', 1024 ** 3, 1024, 1024 ** 4)
  const cacheUserMaxBytes = integer(env, 'CACHE_USER_MAX_BYTES', 50 * 1024 ** 2, 1024, 1024 ** 4)
  if (cacheUserMaxBytes > cacheTenantMaxBytes) {
    throw new ConfigError('CACHE_USER_MAX_BYTES', 'must not exceed CACHE_TENANT_MAX_BYTES')
  }
  return { cacheTenantMaxBytes, cacheUserMaxBytes }
}
