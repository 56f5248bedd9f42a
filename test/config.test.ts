// Configuration errors at start: a misspelt report type in CACHE_POLICY is
// refused like a misspelt field, naming it and the known types.
import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('CACHE_POLICY names only known report types', async (t) => {
  t.throws(
    () => loadConfig({ CACHE_POLICY: '{"analytic": {"ttl": 60}}' }),
    new ConfigError(
      'CACHE_POLICY',
      '.analytic is not a report type (expected student_progress, grade_distribution, analytics, custom, default)',
    ),
  )
  t.throws(
    () => loadConfig({ CACHE_POLICY: '{"analytics": {"tll": 60}}' }),
    /\.analytics\.tll is not a policy field/,
  )
  const ok = loadConfig({ CACHE_POLICY: '{"analytics": {"ttl": 60}, "default": {"maxAge": 5}}' })
  t.same(ok.cachePolicy, { analytics: { ttl: 60 }, default: { maxAge: 5 } })
})

t.test('REDIS_CLUSTER_NODES and DATABASE_REPLICA_URL', async (t) => {
  const cluster = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b.internal:7001,[::1]:7002' })
  t.same(cluster.redisClusterNodes, [
    { host: '10.0.0.1', port: 7000 },
    { host: 'redis-b.internal', port: 7001 },
    { host: '::1', port: 7002 },
  ])
  t.equal(cluster.redisUrl, undefined)
  t.throws(
    () => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000', REDIS_URL: 'redis://127.0.0.1:6379' }),
    new ConfigError('REDIS_CLUSTER_NODES', 'and REDIS_URL must not both be set'),
  )
  t.throws(() => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1' }), /REDIS_CLUSTER_NODES must be host:port/)
  t.throws(
    () => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:70000' }),
    /REDIS_CLUSTER_NODES must be host:port/,
  )
  t.equal(loadConfig({}).redisClusterNodes, undefined)

  const replica = loadConfig({
    DATABASE_URL: 'postgres://app@primary/reports',
    DATABASE_REPLICA_URL: 'postgres://app@replica/reports',
  })
  t.equal(replica.databaseReplicaUrl, 'postgres://app@replica/reports')
  t.equal(replica.replicaMaxLagMs, 5000)
  t.throws(
    () => loadConfig({ DATABASE_REPLICA_URL: 'postgres://app@replica/reports' }),
    new ConfigError('DATABASE_REPLICA_URL', 'needs DATABASE_URL (the primary it replicates)'),
  )
  t.throws(
    () => loadConfig({ DATABASE_URL: 'postgres://p/db', DATABASE_REPLICA_URL: 'mysql://r/db' }),
    /DATABASE_REPLICA_URL must use postgres: or postgresql:/,
  )
  t.throws(() => loadConfig({ REPLICA_MAX_LAG_MS: '5s' }), /REPLICA_MAX_LAG_MS must be a whole number/)
})
