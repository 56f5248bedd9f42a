import t from 'tap'
import { MemoryStore } from '../../src/cache/memory-store.js'
import { freshTenant, input, key, storeContract } from './store-contract.js'

storeContract(t, async (options) => {
  let now = 1_000_000
  const store = new MemoryStore({ ...options, now: () => now })
  return {
    store,
    advance: (ms) => {
      now += ms
    },
  }
})

t.test('the LRU keeps at most maxEntries, dropping the least recently used', async (t) => {
  const store = new MemoryStore({ maxEntries: 3 })
  const tenant = freshTenant()
  const stamp = await store.stamp(tenant)
  for (const id of [1, 2, 3]) await store.set(tenant, key(tenant, id), stamp, input(`r${id}`, []))
  t.equal((await store.get(tenant, key(tenant, 1))).status, 'hit') // 1 is now the most recent
  await store.set(tenant, key(tenant, 4), stamp, input('r4', []))
  t.equal(store.size.entries, 3)
  t.equal((await store.get(tenant, key(tenant, 2))).status, 'miss', 'the least recently used went first')
  for (const id of [1, 3, 4]) t.equal((await store.get(tenant, key(tenant, id))).status, 'hit')
  t.equal((await store.stats(tenant)).keys, 3, 'statistics follow evictions')
})

t.test('the LRU keeps at most maxBytes', async (t) => {
  const store = new MemoryStore({ maxBytes: 10_000, maxEntryBytes: 5000 })
  const tenant = freshTenant()
  const stamp = await store.stamp(tenant)
  for (let id = 1; id <= 10; id++) {
    await store.set(tenant, key(tenant, id), stamp, input(Buffer.alloc(3000, id), []))
    t.ok(store.size.bytes <= 10_000, `within bounds after ${id} writes`)
  }
  t.ok(store.size.entries >= 2 && store.size.entries <= 3)
  t.equal((await store.get(tenant, key(tenant, 10))).status, 'hit', 'the newest entry stays')
  t.equal((await store.get(tenant, key(tenant, 1))).status, 'miss')
})

t.test('too many tag versions turn into one tenant-wide bump, never a lost invalidation', async (t) => {
  const store = new MemoryStore({ maxTagsPerTenant: 10 })
  const tenant = freshTenant()
  const early = await store.stamp(tenant)
  await store.set(tenant, key(tenant, 1), early, input('old', ['student:1']))
  for (let i = 0; i < 11; i++) await store.bump(tenant, [`noise:${i}`])
  t.equal(
    (await store.get(tenant, key(tenant, 1))).status,
    'miss',
    'entries older than dropped versions are invalid',
  )
  t.equal(await store.set(tenant, key(tenant, 2), early, input('late', ['noise:3'])), 'refused')
  const now = await store.stamp(tenant)
  t.equal(await store.set(tenant, key(tenant, 2), now, input('new', ['noise:3'])), 'stored')
  t.equal((await store.get(tenant, key(tenant, 2))).status, 'hit')
})
