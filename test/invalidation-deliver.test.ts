// Delivering log records (src/invalidation/deliver.ts): up to
// MAX_TAGS_PER_DELIVERY records of a tenant bump their own tags; a larger batch
// (a bulk statement outside the API) retires the tenant's entries with one
// tenant-wide bump, and writes no per-tag versions. Against the memory store
// and the real Redis.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { TaggedCache } from '../src/cache/cache.js'
import { MemoryStore } from '../src/cache/memory-store.js'
import { createRedisClient, RedisStore } from '../src/cache/redis-store.js'
import { deliverRecords, MAX_TAGS_PER_DELIVERY } from '../src/invalidation/deliver.js'
import type { LogRecord } from '../src/invalidation/log.js'
import { deleteByPrefix, freshTenant, key, until } from './cache/store-contract.js'

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const prefix = `test-deliver-${randomBytes(4).toString('hex')}:`
const admin = new Redis(REDIS_URL)
t.teardown(async () => {
  await deleteByPrefix(admin, prefix)
  admin.disconnect()
})

const POLICY = { ttl: 600, staleWhileRevalidate: 0, staleIfError: 0 }

async function cacheOn(t: Test, backend: 'memory' | 'redis'): Promise<TaggedCache> {
  if (backend === 'memory') return new TaggedCache({ store: new MemoryStore() })
  const client = createRedisClient(REDIS_URL, { commandTimeoutMs: 5000 })
  await until(() => client.status === 'ready', 'redis connection')
  t.teardown(() => client.disconnect())
  return new TaggedCache({ store: new RedisStore({ client, prefix }) })
}

/** Tag versions the Redis store holds for the tenant's `student:*` tags. */
async function studentTagKeys(tenant: number): Promise<number> {
  let cursor = '0'
  let count = 0
  do {
    const [next, keys] = await admin.scan(
      cursor,
      'MATCH',
      `${prefix}tag:{${tenant}}:student:*`,
      'COUNT',
      1000,
    )
    cursor = next
    count += keys.length
  } while (cursor !== '0')
  return count
}

function studentRecords(tenant: number, firstSeq: number, n: number): LogRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    seq: firstSeq + i,
    tenantId: tenant,
    tag: `student:${i + 1}`,
  }))
}

for (const backend of ['memory', 'redis'] as const) {
  t.test(`${backend}: a large batch is one tenant-wide bump, a small one bumps its tags`, async (t) => {
    const cache = await cacheOn(t, backend)
    const tenant = freshTenant()
    let computations = 0
    // An entry that reads none of the delivered tags.
    const read = () =>
      cache.getOrCompute({
        tenantId: tenant,
        key: key(tenant, 1),
        kind: 'analytics',
        policy: POLICY,
        compute: async () => {
          computations++
          return { body: Buffer.from(`v${computations}`), tags: ['class:9'] }
        },
      })
    await read()
    await read()
    t.equal(computations, 1, 'stored, then served')

    t.ok(await deliverRecords(cache, studentRecords(tenant, 1, MAX_TAGS_PER_DELIVERY)))
    await read()
    t.equal(computations, 1, `${MAX_TAGS_PER_DELIVERY} records: only their own tags moved`)
    if (backend === 'redis')
      t.equal(await studentTagKeys(tenant), MAX_TAGS_PER_DELIVERY, 'one version per tag')

    const other = freshTenant()
    const large = studentRecords(tenant, 10_000, MAX_TAGS_PER_DELIVERY + 1)
    t.ok(await deliverRecords(cache, [...large, { seq: 20_000, tenantId: other, tag: 'student:1' }]))
    await read()
    t.equal(computations, 2, `${MAX_TAGS_PER_DELIVERY + 1} records: every entry of the tenant retired`)
    if (backend === 'redis') {
      t.equal(await studentTagKeys(tenant), MAX_TAGS_PER_DELIVERY, 'no per-tag version written for them')
      t.equal(
        await studentTagKeys(other),
        1,
        "another tenant's small batch in the same delivery bumps its tag",
      )
    }

    // The same records again (another relay, or the writer's own delivery): nothing moves.
    t.ok(await deliverRecords(cache, large))
    await read()
    t.equal(computations, 2, 'a second delivery of the batch retires nothing')
  })
}
