// The Redis store on a Redis Cluster (REDIS_CLUSTER_NODES): a private 6-node
// cluster (3 masters, 3 replicas) started and stopped by pid here.
// 1. The store contract suite, on the cluster client.
// 2. Hit-rate buckets of several tenants (several slots) flushed and read back.
// 3. Graders and readers racing on two instances: no stale read.
// 4. The master of the tenant's slot SIGKILLed under that load: its replica
//    takes over; no 5xx, no stale read, and HITs come back (the time is printed).
import t, { type Test } from 'tap'
import type { App } from '../src/app.js'
import { RedisHitRateSink } from '../src/cache/hit-rate-redis.js'
import { createRedisCluster, RedisStore } from '../src/cache/redis-store.js'
import { emptyCounts } from '../src/cache/stats.js'
import { freshTenant, input, key, storeContract } from './cache/store-contract.js'
import { type RaceRead, raceGradesAndReads, raceTargets } from './helpers/grade-race.js'
import { startRedisCluster } from './helpers/redis-cluster.js'
import { cacheApp, cacheWorld, getReport, until } from './helpers/report-cache.js'

const cluster = await startRedisCluster(t)
// Once everything is torn down, nothing may keep this process alive: an ioredis
// Cluster client can keep retrying a node this file killed after disconnect()
// (seen once in CI: all tests ok, then the file hung until tap's timeout). An
// unref'd timer fires only if something else still holds the event loop.
t.teardown(() => {
  setTimeout(() => process.exit(process.exitCode ?? 0), 30_000).unref()
})
const client = createRedisCluster(cluster.startupNodes, { commandTimeoutMs: 2000 })
t.teardown(() => client.disconnect())
await until(() => client.status === 'ready', 'the cluster client')

let prefixes = 0
const prefix = () => `test-cl-${++prefixes}:`

t.test('the store contract on a cluster', async (t) => {
  storeContract(t, async (options) => ({ store: new RedisStore({ client, prefix: prefix(), ...options }) }))
})

t.test("a tenant's keys share one slot; tenants spread over the masters", async (t) => {
  const p = prefix()
  const store = new RedisStore({ client, prefix: p })
  const masters = new Set<number>()
  for (let i = 0; i < 12; i++) {
    const tenant = freshTenant()
    const k = key(tenant, 1)
    await store.bump(tenant, ['student:1'])
    t.equal(await store.set(tenant, k, await store.stamp(tenant), input('x', ['student:1'])), 'stored')
    t.equal((await store.get(tenant, k)).status, 'hit')
    const slots = new Set(
      [`${p}seq:{${tenant}}`, `${p}${k}`, `${p}tag:{${tenant}}:student:1`, `${p}meta:{${tenant}}`].map(
        (name) => cluster.masterOf(name),
      ),
    )
    t.equal(new Set(await Promise.all(slots)).size, 1, `tenant ${tenant}: one master holds every key`)
    masters.add(await cluster.masterOf(`{${tenant}}`))
  }
  t.ok(masters.size > 1, 'tenants live on several masters')
  await store.reset()
  const tenant = freshTenant()
  t.equal((await store.get(tenant, key(tenant, 1))).status, 'miss', 'reset reaches every master')
})

t.test('data last confirmed by another node (a failover) starts a new generation', async (t) => {
  const p = prefix()
  const store = new RedisStore({ client, prefix: p })
  const tenant = freshTenant()
  const k = key(tenant, 1)
  const before = await store.stamp(tenant)
  t.equal(await store.set(tenant, k, before, input('x', [])), 'stored')
  t.equal((await store.get(tenant, k)).status, 'hit')
  // What a promoted replica looks like to the scripts: the data names another node.
  await client.hset(`${p}seq:{${tenant}}`, 'r', 'a-master-that-failed')
  t.equal(
    await store.set(tenant, k, before, input('y', [])),
    'refused',
    'nothing is stored before a read confirms',
  )
  const found = await store.get(tenant, k)
  t.equal(found.status, 'miss', 'entries from before are not served')
  t.not(found.stamp.generation, before.generation, 'a new generation')
  t.equal(await store.set(tenant, k, before, input('y', [])), 'refused', 'stamps from before are refused')
  t.equal(await store.set(tenant, k, found.stamp, input('z', [])), 'stored')
  t.equal((await store.get(tenant, k)).status, 'hit', 'then served as usual')
})

t.test('hit-rate buckets of many tenants: one pipeline per tenant, no cross-slot error', async (t) => {
  const sink = new RedisHitRateSink(client, prefix())
  const counts = { ...emptyCounts(), hits: 2, misses: 1 }
  const tenants = Array.from({ length: 8 }, () => String(freshTenant()))
  await sink.add(
    tenants.map((tenant) => ({
      tenant,
      start: 1_000_000,
      last: 1_000_001_000,
      byKind: { analytics: counts },
    })),
  )
  for (const tenant of tenants) {
    const [bucket] = await sink.read(tenant, 10, [1_000_000])
    t.equal(bucket.byKind.analytics?.hits, 2, `tenant ${tenant}`)
  }
})

async function clusterApps(t: Test, count: number) {
  const cw = await cacheWorld(t)
  const overrides = {
    redisClusterNodes: cluster.startupNodes,
    redisPrefix: prefix(),
    // A mutation whose slot is failing over waits for the relay to deliver (no `pending`).
    invalidationWaitMs: 15_000,
    invalidationPollMs: 100,
  }
  const apps: App[] = []
  for (let i = 0; i < count; i++) apps.push((await cacheApp(t, cw, overrides)).app)
  for (const app of apps) await until(() => app.redis.status === 'ready', 'the app cluster client')
  return { cw, apps }
}

t.test('graders and readers on two instances: no stale read', async (t) => {
  const { cw, apps } = await clusterApps(t, 2)
  const targets = await raceTargets(apps[0], cw)
  const deadline = Date.now() + 2500
  const result = await raceGradesAndReads({ apps, cw, targets, until: () => Date.now() > deadline })
  const hits = result.reads.filter((r) => r.xCache === 'HIT').length
  t.comment(
    `${result.grades} grades, ${result.reads.length} reads (${hits} HIT), ${result.stale.length} stale`,
  )
  t.same(result.failures, [], 'every request answered 2xx')
  t.ok(hits > 0, 'some reads were HITs')
  t.same(result.stale, [], 'no stale read')
})

t.test("the master of the tenant's slot killed under load", async (t) => {
  const { cw, apps } = await clusterApps(t, 2)
  const targets = await raceTargets(apps[0], cw)
  const victim = await cluster.masterOf(`{${cw.w.tenant1}}`)
  // Warm: every report a HIT before the kill.
  for (const target of targets) {
    await getReport(apps[0], cw.w.admin, target.report)
    t.equal((await getReport(apps[1], cw.w.admin, target.report)).xCache, 'HIT')
  }
  let killedAt = 0
  let readsBeforeKill = 0
  let firstHit: RaceRead | undefined
  const started = Date.now()
  const race = raceGradesAndReads({
    apps,
    cw,
    targets,
    onRead: (read) => {
      readsBeforeKill++
      if (killedAt > 0 && firstHit === undefined && read.startedAt > killedAt && read.xCache === 'HIT')
        firstHit = read
    },
    // Stop 1.5 s after HITs came back (or at a bound, which fails below).
    until: () => (firstHit !== undefined && Date.now() > firstHit.at + 1500) || Date.now() > started + 40_000,
  })
  // Under load first: the kill lands among requests in flight.
  await until(() => readsBeforeKill >= 30, 'reads before the kill')
  await cluster.kill(victim)
  killedAt = Date.now()
  const result = await race
  const after = result.reads.filter((r) => r.startedAt > killedAt)
  const bypass = after.filter((r) => r.xCache === 'BYPASS').length
  const secondsToHit = firstHit ? (firstHit.at - killedAt) / 1000 : Number.NaN
  t.comment(
    `failover: ${result.grades} grades, ${result.reads.length} reads, ${result.errors5xx} 5xx, ` +
      `${result.stale.length} stale, ${bypass} BYPASS after the kill, ` +
      `HIT again ${secondsToHit.toFixed(2)} s after the SIGKILL, ${result.pending} pending invalidations`,
  )
  t.equal(result.errors5xx, 0, 'no 5xx')
  t.same(result.failures, [], 'every request answered 2xx')
  t.same(result.stale, [], 'no stale read')
  t.ok(firstHit, 'HITs resumed after the failover')
  t.not(await cluster.masterOf(`{${cw.w.tenant1}}`), victim, 'a replica took over the slot')
})
