import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { createRedisClient, RedisStore } from '../../src/cache/redis-store.js'
import { StoreUnavailableError } from '../../src/cache/store.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { deleteByPrefix, freshTenant, input, key, storeContract } from './store-contract.js'

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const prefix = `test-rs-${randomBytes(4).toString('hex')}:`
const client = createRedisClient(REDIS_URL, { commandTimeoutMs: 2000 })
const admin = new Redis(REDIS_URL)

t.before(async () => {
  // The cache client has no offline queue: wait until it is connected.
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve))
})

t.teardown(async () => {
  await deleteByPrefix(admin, prefix)
  client.disconnect()
  admin.disconnect()
})

storeContract(t, async (options) => ({ store: new RedisStore({ client, prefix, ...options }) }))

t.test('key layout: the tenant is a hash tag; only entries expire', async (t) => {
  const store = new RedisStore({ client, prefix })
  const tenant = freshTenant()
  const k = key(tenant, 42, { from: '2024-01-01' })
  t.match(k, new RegExp(`^report:\\{${tenant}\\}:42:all:[A-Za-z0-9_-]{16}$`))
  await store.bump(tenant, ['student:7'])
  await store.set(tenant, k, await store.stamp(tenant), input('body', ['student:7'], { ttlMs: 60_000 }))
  t.equal(await admin.type(prefix + k), 'hash')
  const ttl = await admin.pttl(prefix + k)
  t.ok(ttl > 0 && ttl <= 60_000, 'the entry expires with its ttl')
  t.equal(await admin.type(`${prefix}seq:{${tenant}}`), 'hash')
  t.equal(await admin.pttl(`${prefix}seq:{${tenant}}`), -1, 'the sequence never expires')
  t.equal(await admin.get(`${prefix}tag:{${tenant}}:student:7`), '1')
  t.equal(await admin.pttl(`${prefix}tag:{${tenant}}:student:7`), -1, 'tag versions never expire')
  t.ok(
    (await admin.hgetBuffer(prefix + k, 'b'))?.equals(Buffer.from('body')),
    'the body is stored as raw bytes',
  )
  const policy = await store.evictionPolicy()
  t.ok(policy === undefined || typeof policy.safe === 'boolean', 'the eviction policy can be checked')
})

t.test('after Redis lost its data, a stamp from before is refused', async (t) => {
  const store = new RedisStore({ client, prefix: `${prefix}loss:` })
  const tenant = freshTenant()
  for (let i = 0; i < 5; i++) await store.bump(tenant, ['student:1'])
  const before = await store.stamp(tenant)
  t.equal(before.seq, 5)
  await deleteByPrefix(admin, `${prefix}loss:`) // Redis restarted without persistence
  const after = await store.bump(tenant, ['student:1'])
  t.ok(after < before.seq, 'the sequence restarted')
  const k = key(tenant, 1)
  t.equal(await store.set(tenant, k, before, input('old', ['student:1'])), 'refused')
  t.equal((await store.get(tenant, k)).status, 'miss')
  const now = await store.stamp(tenant)
  t.not(now.generation, before.generation, 'a new generation began')
  t.equal(await store.set(tenant, k, now, input('new', ['student:1'])), 'stored')
})

t.test('with Redis unreachable from the start, calls fail fast and bumps are kept', async (t) => {
  const dead = createRedisClient('redis://127.0.0.1:1', { connectTimeoutMs: 200 })
  const store = new RedisStore({ client: dead, prefix, breaker: { failureThreshold: 2, coolDownMs: 60_000 } })
  t.teardown(() => dead.disconnect())
  const tenant = freshTenant()
  await t.rejects(store.get(tenant, key(tenant, 1)), StoreUnavailableError)
  await t.rejects(store.stamp(tenant), StoreUnavailableError)
  t.equal(store.breaker.state, 'open')
  await t.rejects(store.get(tenant, key(tenant, 1)), { message: /circuit open/ })
  await t.rejects(store.bump(tenant, ['student:1']), StoreUnavailableError, 'bumps are tried even when open')
  t.equal(store.pendingInvalidations(), 1, 'the failed bump is remembered')
  t.equal(store.health(), 'degraded')
  await store.close()
})

t.test('a copy of the body: confirmed without moving it, shared by requests only until sent', async (t) => {
  // A private server: its byte and command counters are this test's alone.
  const server = await startRedisServer(t)
  const own = createRedisClient(server.url, { commandTimeoutMs: 2000 })
  const watch = new Redis(server.url)
  t.teardown(() => {
    own.disconnect()
    watch.disconnect()
  })
  if (own.status !== 'ready') await new Promise((resolve) => own.once('ready', resolve))
  const counters = async () => {
    const calls = await watch.info('commandstats')
    const stats = await watch.info('stats')
    const count = (name: string) =>
      Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(calls)?.[1] ?? 0)
    return {
      out: Number(/^total_net_output_bytes:(\d+)/m.exec(stats)?.[1]),
      scripts: count('evalsha') + count('eval'),
    }
  }
  const store = new RedisStore({ client: own, prefix })
  const tenant = freshTenant()
  const k = key(tenant, 1)
  const body = randomBytes(50_000)
  t.equal(store.confirmCopy(tenant, k, [], []), undefined, 'no copy yet: nothing to confirm')
  await store.set(tenant, k, await store.stamp(tenant), input(body, ['student:1'], { ttlMs: 60_000 }))

  t.ok(await store.confirmCopy(tenant, k, [], []), 'confirmed (and the script loaded)')
  const before = await counters()
  const first = store.confirmCopy(tenant, k, [], [])
  const second = store.confirmCopy(tenant, k, [], [])
  t.ok(first, 'the stored body is kept as a copy')
  t.equal(second, first, 'requests of one event-loop turn share one confirmation')
  const confirmed = await first
  t.ok(confirmed?.body.equals(body), 'the copy is the stored body')
  const after = await counters()
  t.equal(after.scripts - before.scripts, 1, 'one script call: the shared confirmation')
  t.ok(after.out - before.out < 10_000, `${after.out - before.out} bytes out of Redis, not the 50 kB body`)

  // Once sent, a confirmation takes nobody else: a later request asks again.
  const sent = store.confirmCopy(tenant, k, [], [])
  await new Promise((resolve) => setImmediate(resolve))
  const later = store.confirmCopy(tenant, k, [], [])
  t.not(later, sent, 'a request after the send asks Redis itself')
  t.ok(await sent)
  t.ok(await later)

  await store.bump(tenant, ['student:1'])
  t.equal(await store.confirmCopy(tenant, k, [], []), undefined, 'after a bump of its tag: not confirmed')
  t.equal((await store.get(tenant, k)).status, 'miss', 'and the full read deletes it')
  t.equal(store.confirmCopy(tenant, k, [], []), undefined, 'the copy went with it')

  // `also` values must be fresh and hold the caller's ETags.
  const aux = key(tenant, 'aux')
  const stamp = await store.stamp(tenant)
  await store.set(tenant, k, stamp, input(body, ['student:2'], { ttlMs: 60_000 }))
  await store.set(tenant, aux, stamp, input('definition', ['report:1'], { ttlMs: 60_000 }))
  const auxEtag = input('definition', []).etag
  t.ok(await store.confirmCopy(tenant, k, [aux], [auxEtag]), 'aux entry with the ETag held')
  t.equal(await store.confirmCopy(tenant, k, [aux], ['"other"']), undefined, 'aux entry with another ETag')
  await store.bump(tenant, ['report:1'])
  t.equal(await store.confirmCopy(tenant, k, [aux], [auxEtag]), undefined, 'aux entry invalidated')
  t.ok(await store.confirmCopy(tenant, k, [], []), 'the entry itself is still confirmed')

  // Confirmations of one tenant asked in one turn go in one call (the contract checks each answer).
  const others = [key(tenant, 'a'), key(tenant, 'b'), k]
  const shared = await store.stamp(tenant)
  for (const other of others)
    await store.set(tenant, other, shared, input(other, ['class:1'], { ttlMs: 60_000 }))
  const otherTenant = freshTenant()
  const elsewhere = key(otherTenant, 1)
  await store.set(otherTenant, elsewhere, await store.stamp(otherTenant), input('x', [], { ttlMs: 60_000 }))
  const beforeTurn = await counters()
  const asked = [
    ...others.map((o) => store.confirmCopy(tenant, o, [], [])),
    store.confirmCopy(otherTenant, elsewhere, [], []),
  ]
  t.equal((await Promise.all(asked)).filter(Boolean).length, 4, 'all four confirmed')
  t.equal((await counters()).scripts - beforeTurn.scripts, 2, 'in one script call per tenant')
  // A call carries at most 16 (the next starts while Redis runs the first).
  const many = Array.from({ length: 20 }, (_, i) => key(tenant, `m${i}`))
  for (const m of many) await store.set(tenant, m, shared, input(m, ['class:1'], { ttlMs: 60_000 }))
  await store.bump(tenant, ['class:1'])
  const fresh = await store.stamp(tenant)
  for (const m of many.slice(0, 19))
    await store.set(tenant, m, fresh, input(m, ['class:1'], { ttlMs: 60_000 }))
  const beforeMany = await counters()
  const manyAnswers = await Promise.all(many.map((m) => store.confirmCopy(tenant, m, [], [])))
  t.same(
    manyAnswers.map((a) => a?.body.toString()),
    [...many.slice(0, 19), undefined],
    'each of 20 answered with its own copy; the one left invalid is not',
  )
  t.equal((await counters()).scripts - beforeMany.scripts, 2, 'in two calls')
  await store.close()
})
