import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { type CacheOutcome, type GetOrComputeRequest, TaggedCache } from '../../src/cache/cache.js'
import { strongEtag } from '../../src/cache/http.js'
import { auxKey } from '../../src/cache/keys.js'
import { MemoryStore } from '../../src/cache/memory-store.js'
import { createRedisClient, RedisStore } from '../../src/cache/redis-store.js'
import { tallyResults } from '../helpers/cache-results.js'
import { deleteByPrefix, freshTenant, key, latch, until } from './store-contract.js'

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const prefix = `test-co-${randomBytes(4).toString('hex')}:`
const admin = new Redis(REDIS_URL)
t.teardown(async () => {
  await deleteByPrefix(admin, prefix)
  admin.disconnect()
})

const POLICY = { ttl: 600, staleWhileRevalidate: 0, staleIfError: 0 }

function request(
  tenantId: number,
  k: string,
  compute: GetOrComputeRequest['compute'],
  more: Partial<GetOrComputeRequest> = {},
): GetOrComputeRequest {
  return { tenantId, key: k, kind: 'grade_distribution', tags: [], policy: POLICY, compute, ...more }
}

function tally(outcomes: CacheOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const o of outcomes) counts[o.result] = (counts[o.result] ?? 0) + 1
  return counts
}

async function redisCache(t: Test, options: { waitMs?: number } = {}): Promise<TaggedCache> {
  const client = createRedisClient(REDIS_URL, { commandTimeoutMs: 2000 })
  await until(() => client.status === 'ready', 'redis connection')
  t.teardown(() => client.disconnect())
  return new TaggedCache({ store: new RedisStore({ client, prefix }), ...options })
}

t.test('200 concurrent misses in one process run one computation', async (t) => {
  const cache = new TaggedCache({ store: new MemoryStore() })
  const results = tallyResults(t, cache)
  const tenant = freshTenant()
  const gate = latch()
  let computations = 0
  const compute = async () => {
    computations++
    await gate.promise
    return { body: Buffer.from(JSON.stringify({ n: computations })), tags: ['class:1'] }
  }
  const all = Promise.all(
    Array.from({ length: 200 }, () => cache.getOrCompute(request(tenant, key(tenant, 1), compute))),
  )
  await until(() => cache.inFlight === 1 && computations === 1, 'the computation to start')
  gate.resolve()
  const outcomes = await all
  t.equal(computations, 1)
  t.same(tally(outcomes), { miss: 1, coalesced: 199 })
  t.ok(
    outcomes.every((o) => o.body?.equals(outcomes[0].body!)),
    'everyone gets the same bytes',
  )
  t.ok(outcomes.every((o) => o.xCache === 'MISS'))
  t.equal(results.byKind.grade_distribution.coalesced, 199)
  t.equal((await cache.getOrCompute(request(tenant, key(tenant, 1), compute))).result, 'hit')
})

t.test('200 concurrent misses on two processes sharing Redis run one computation', async (t) => {
  const [a, b] = [await redisCache(t), await redisCache(t)]
  const tenant = freshTenant()
  const gate = latch()
  let computations = 0
  const compute = async () => {
    computations++
    await gate.promise
    return {
      body: Buffer.from(`{"computed":${computations},"pad":"${'x'.repeat(2000)}"}`),
      tags: ['class:1'],
    }
  }
  const k = key(tenant, 1)
  const all = Promise.all(
    Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).getOrCompute(request(tenant, k, compute))),
  )
  // One process computes, the other waits on the lease: release only then.
  await until(
    () => a.inFlight === 1 && b.inFlight === 1 && computations === 1,
    'both processes to be filling',
  )
  gate.resolve()
  const outcomes = await all
  t.equal(computations, 1, 'computed once in total')
  t.same(tally(outcomes), { miss: 1, coalesced: 199 })
  t.ok(
    outcomes.every((o) => o.body?.equals(outcomes[0].body!)),
    'all 200 get the same bytes',
  )
  t.equal(outcomes[0].etag, strongEtag(outcomes[0].body!))
  t.equal((await b.getOrCompute(request(tenant, k, compute))).result, 'hit')
})

t.test('a caller that starts after an invalidation does not join an older computation', async (t) => {
  const cache = new TaggedCache({ store: new MemoryStore() })
  const tenant = freshTenant()
  const db = { value: 1 }
  const gate = latch()
  let computations = 0
  const compute = async () => {
    const seen = db.value
    if (++computations === 1) await gate.promise
    return { body: Buffer.from(`v${seen}`), tags: ['student:1'] }
  }
  const k = key(tenant, 1)
  const slow = cache.getOrCompute(request(tenant, k, compute))
  await until(() => computations === 1, 'the slow computation')
  db.value = 2
  await cache.invalidate(tenant, ['student:1'])
  // The later caller cannot join; it waits for the lease, which the slow one
  // releases when its (refused) write lands, then computes itself.
  const later = cache.getOrCompute(request(tenant, k, compute))
  await until(() => cache.inFlight === 2, 'the later caller to start its own fill')
  gate.resolve()
  const after = await later
  t.equal(after.body?.toString(), 'v2', 'the later caller sees the change')
  t.equal(after.result, 'miss')
  t.equal(computations, 2)
  t.equal((await slow).body?.toString(), 'v1', 'the overlapping caller may see the old value')
  t.equal(cache.counters.events.refusedWrites, 1, 'the old result was refused')
  const next = await cache.getOrCompute(request(tenant, k, compute))
  t.equal(next.body?.toString(), 'v2')
  t.equal(next.result, 'hit')
})

t.test('a failed computation fails its joiners and frees the lease', async (t) => {
  const cache = new TaggedCache({ store: new MemoryStore() })
  const tenant = freshTenant()
  const gate = latch()
  let computations = 0
  const failing = async () => {
    computations++
    await gate.promise
    throw new Error('database down')
  }
  const k = key(tenant, 1)
  const all = Promise.allSettled(
    Array.from({ length: 5 }, () => cache.getOrCompute(request(tenant, k, failing))),
  )
  await until(() => computations === 1, 'the computation')
  gate.resolve()
  const settled = await all
  t.ok(settled.every((s) => s.status === 'rejected' && (s.reason as Error).message === 'database down'))
  t.equal(computations, 1)
  const ok = await cache.getOrCompute(request(tenant, k, async () => ({ body: Buffer.from('ok'), tags: [] })))
  t.equal(ok.result, 'miss', 'the next caller computes at once')
})

t.test('a waiter computes itself when the lease holder never delivers', async (t) => {
  const cache = await redisCache(t, { waitMs: 200 })
  const tenant = freshTenant()
  const k = key(tenant, 1)
  const held = await cache.store.get(tenant, k, { lease: { token: 'crashed-process', ttlMs: 60_000 } })
  t.equal(held.lease, 'acquired')
  const r = await cache.getOrCompute(
    request(tenant, k, async () => ({ body: Buffer.from('mine'), tags: [] })),
  )
  t.equal(r.result, 'miss')
  t.equal(r.body?.toString(), 'mine')
  t.equal(
    (await cache.getOrCompute(request(tenant, k, async () => ({ body: Buffer.from('x'), tags: [] })))).result,
    'hit',
  )
})

t.test('stale-while-revalidate serves the old body and refreshes once', async (t) => {
  let now = 1_000_000
  const cache = new TaggedCache({ store: new MemoryStore({ now: () => now }) })
  const tenant = freshTenant()
  const policy = { ttl: 10, staleWhileRevalidate: 30, staleIfError: 0 }
  let version = 1
  let computations = 0
  const compute = async () => {
    computations++
    return { body: Buffer.from(`v${version}`), tags: ['class:1'] }
  }
  const k = key(tenant, 1)
  const first = await cache.getOrCompute(request(tenant, k, compute, { policy }))
  version = 2
  now += 15_000
  const stale = await Promise.all(
    Array.from({ length: 10 }, () => cache.getOrCompute(request(tenant, k, compute, { policy }))),
  )
  t.ok(stale.every((o) => o.result === 'stale' && o.xCache === 'STALE' && o.body?.toString() === 'v1'))
  const revalidating = await cache.getOrCompute(
    request(tenant, k, compute, { policy, ifNoneMatch: first.etag }),
  )
  t.ok(
    ['not-modified', 'hit'].includes(revalidating.result),
    'a conditional request is answered without computing',
  )
  await cache.idle()
  t.equal(computations, 2, 'one background refresh')
  const fresh = await cache.getOrCompute(request(tenant, k, compute, { policy }))
  t.equal(fresh.result, 'hit')
  t.equal(fresh.body?.toString(), 'v2')
  now += 15_000
  await cache.invalidate(tenant, ['class:1'])
  const afterBump = await cache.getOrCompute(request(tenant, k, compute, { policy }))
  t.equal(afterBump.result, 'miss', 'never stale after an invalidation')
})

t.test('stale-if-error serves the old body only when computing fails', async (t) => {
  let now = 1_000_000
  const cache = new TaggedCache({ store: new MemoryStore({ now: () => now }) })
  const tenant = freshTenant()
  const policy = { ttl: 10, staleWhileRevalidate: 0, staleIfError: 60 }
  const k = key(tenant, 1)
  await cache.getOrCompute(
    request(tenant, k, async () => ({ body: Buffer.from('old'), tags: [] }), { policy }),
  )
  now += 20_000
  const down = async (): Promise<never> => {
    throw new Error('database down')
  }
  const r = await cache.getOrCompute(request(tenant, k, down, { policy }))
  t.equal(r.result, 'stale')
  t.equal(r.body?.toString(), 'old')
  const up = await cache.getOrCompute(
    request(tenant, k, async () => ({ body: Buffer.from('new'), tags: [] }), { policy }),
  )
  t.equal(up.result, 'miss', 'when the database answers, it is used')
  t.equal(up.body?.toString(), 'new')
  await t.rejects(cache.getOrCompute(request(tenant, key(tenant, 2), down, { policy })), {
    message: 'database down',
  })
  now += 100_000
  await t.rejects(cache.getOrCompute(request(tenant, k, down, { policy })), { message: 'database down' })
})

t.test('conditional requests', async (t) => {
  const cache = new TaggedCache({ store: new MemoryStore() })
  const results = tallyResults(t, cache)
  const tenant = freshTenant()
  const k = key(tenant, 1)
  const compute = async () => ({ body: Buffer.from('{"x":1}'), tags: [] })
  const etag = strongEtag(Buffer.from('{"x":1}'))
  const miss = await cache.getOrCompute(request(tenant, k, compute, { ifNoneMatch: `"old", ${etag}` }))
  t.equal(miss.result, 'miss')
  t.equal(miss.notModified, true, 'a computed body with the same ETag still allows 304')
  const nm = await cache.getOrCompute(request(tenant, k, compute, { ifNoneMatch: `W/${etag}` }))
  t.equal(nm.result, 'not-modified')
  t.equal(nm.xCache, 'HIT')
  t.equal(nm.body, undefined, 'the body never left the store')
  t.equal(nm.etag, etag)
  const other = await cache.getOrCompute(request(tenant, k, compute, { ifNoneMatch: '"old"' }))
  t.equal(other.result, 'hit')
  t.equal(other.notModified, false)
  t.equal(other.body?.toString(), '{"x":1}')
  t.equal(results.total.not_modified, 1)
})

t.test('oversized bodies and zero ttl are served uncached', async (t) => {
  const cache = new TaggedCache({ store: new MemoryStore(), maxEntryBytes: 10 })
  const tenant = freshTenant()
  let computations = 0
  const compute = async () => {
    computations++
    return { body: Buffer.alloc(11, 65), tags: [] }
  }
  for (let i = 0; i < 2; i++) {
    const r = await cache.getOrCompute(request(tenant, key(tenant, 1), compute))
    t.equal(r.result, 'bypass')
    t.equal(r.xCache, 'BYPASS')
  }
  t.equal(computations, 2)
  t.equal(cache.counters.events.oversize, 2)
  const small = async () => ({ body: Buffer.from('s'), tags: [] })
  const policy = { ttl: 0, staleWhileRevalidate: 0, staleIfError: 0 }
  t.equal((await cache.getOrCompute(request(tenant, key(tenant, 2), small, { policy }))).result, 'bypass')
  t.equal((await cache.getOrCompute(request(tenant, key(tenant, 2), small, { policy }))).result, 'bypass')
})

for (const backend of ['memory', 'redis'] as const) {
  t.test(
    `${backend}: a hit checks access from an auxiliary value fetched in the same round trip`,
    async (t) => {
      const cache = backend === 'memory' ? new TaggedCache({ store: new MemoryStore() }) : await redisCache(t)
      const tenant = freshTenant()
      const access = auxKey('access', tenant, 'u7')
      let accessComputations = 0
      const accessSet = () =>
        cache.computeValue({
          tenantId: tenant,
          key: access,
          ttlSeconds: 60,
          compute: async () => {
            accessComputations++
            return { value: Buffer.from('[1,2]'), tags: ['enrollments-of:7'] }
          },
        })
      const seen: (string | undefined)[] = []
      const authorize = async (also: readonly ({ body: Buffer } | undefined)[]) => {
        const value = also[0]?.body.toString() ?? (await accessSet()).toString()
        seen.push(also[0]?.body.toString())
        if (!JSON.parse(value).includes(2)) throw new Error('forbidden')
      }
      const k = key(tenant, 1)
      const compute = async () => ({ body: Buffer.from('report'), tags: ['class:2'] })
      const first = await cache.getOrCompute(request(tenant, k, compute, { also: [access], authorize }))
      t.equal(first.result, 'miss')
      const second = await cache.getOrCompute(request(tenant, k, compute, { also: [access], authorize }))
      t.equal(second.result, 'hit')
      t.same(seen, [undefined, '[1,2]'], 'the second request found the access set with the entry')
      t.equal(accessComputations, 1)
      await cache.invalidate(tenant, ['enrollments-of:7'])
      const third = await cache.getOrCompute(request(tenant, k, compute, { also: [access], authorize }))
      t.equal(third.result, 'hit', 'the report is still valid')
      t.equal(seen[2], undefined, 'but the access set was recomputed')
      t.equal(accessComputations, 2)
      let computed = false
      await t.rejects(
        cache.getOrCompute(
          request(
            tenant,
            k,
            async () => {
              computed = true
              return { body: Buffer.from('x'), tags: [] }
            },
            {
              also: [access],
              authorize: () => {
                throw new Error('forbidden')
              },
            },
          ),
        ),
        { message: 'forbidden' },
      )
      t.notOk(computed, 'nothing is computed or served when access is refused')
    },
  )
}
