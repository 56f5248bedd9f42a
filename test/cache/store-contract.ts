// The contract every CacheStore meets, run by memory-store.test.ts and
// redis-store.test.ts, plus small helpers the cache tests share (polling with a
// deadline, latches, Redis key cleanup).

import type { Redis } from 'ioredis'
import type { Test } from 'tap'
import { strongEtag } from '../../src/cache/http.js'
import { auxKey, reportKey } from '../../src/cache/keys.js'
import type { CacheStore, EntryInput, GetResult, Stamp, StoreBudgets } from '../../src/cache/store.js'

export interface StoreHarness {
  store: CacheStore
  /** Moves the store's clock forward (memory); undefined for a real clock (Redis: poll instead). */
  advance?: (ms: number) => void
}

/** A fresh store for one test (closed by the contract in teardown). */
export type StoreFactory = (options: { maxEntryBytes: number } & StoreBudgets) => Promise<StoreHarness>

/** Polls `check` until it returns a value (not undefined/false) or fails the test at the deadline. */
export async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  deadlineMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + deadlineMs
  let delay = 2
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, delay))
    delay = Math.min(delay * 2, 50)
  }
}

export interface Latch<T = void> {
  promise: Promise<T>
  resolve: (value: T) => void
}

export function latch<T = void>(): Latch<T> {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** Deletes every key under `prefix` with SCAN (never KEYS). */
export async function deleteByPrefix(client: Redis, prefix: string): Promise<number> {
  let cursor = '0'
  let deleted = 0
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
    cursor = next
    if (keys.length > 0) deleted += await client.del(...keys)
  } while (cursor !== '0')
  return deleted
}

let tenantCounter = 0
/** A tenant id no other test of this process uses. */
export function freshTenant(): number {
  return 1000 + ++tenantCounter
}

export function key(tenant: number, report: number | string, filters: Record<string, unknown> = {}): string {
  return reportKey({ tenantId: tenant, reportId: report, scope: 'all', filters })
}

export function input(body: Buffer | string, tags: string[], more: Partial<EntryInput> = {}): EntryInput {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  return {
    body: bytes,
    etag: strongEtag(bytes),
    generatedAt: 1_700_000_000_123,
    kind: 'student_progress',
    tags,
    ttlMs: 60_000,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    ...more,
  }
}

function bodyOf(r: GetResult): Buffer | undefined {
  return r.status === 'hit' || r.status === 'stale' ? r.entry.body : undefined
}

/** Runs the store contract as subtests of `t`. */
export function storeContract(t: Test, factory: StoreFactory): void {
  const open = async (tt: Test, maxEntryBytes = 4096): Promise<StoreHarness> => {
    const harness = await factory({ maxEntryBytes })
    tt.teardown(() => harness.store.close())
    return harness
  }

  t.test('byte budgets: a tenant or a user over budget evicts only its own oldest entries', async (t) => {
    // Each entry below counts about 660 bytes (400 of body, ETag, tags, bookkeeping).
    const harness = await factory({ maxEntryBytes: 4096, tenantMaxBytes: 3000, ownerMaxBytes: 1500 })
    t.teardown(() => harness.store.close())
    const { store } = harness
    const [a, b] = [freshTenant(), freshTenant()]
    const body = (label: string) => label.padEnd(400, '.')
    const put = async (tenant: number, id: number, owner: string) =>
      store.set(
        tenant,
        key(tenant, id),
        await store.stamp(tenant),
        input(body(`${tenant}:${id}`), [], { owner }),
      )
    const status = async (tenant: number, id: number) => (await store.get(tenant, key(tenant, id))).status

    for (const id of [1, 2]) t.equal(await put(b, id, 'other'), 'stored', `tenant b entry ${id}`)
    t.equal(await put(a, 100, 'u2'), 'stored', "another user's entry in tenant a")
    for (const id of [1, 2, 3, 4, 5]) t.equal(await put(a, id, 'u1'), 'stored', `u1 entry ${id}`)
    // u1 may hold two such entries: its oldest went, nobody else's did.
    t.same(
      [await status(a, 1), await status(a, 2), await status(a, 3)],
      ['miss', 'miss', 'miss'],
      "u1's oldest entries were evicted",
    )
    t.same([await status(a, 4), await status(a, 5)], ['hit', 'hit'], "u1's newest entries stay")
    t.equal(await status(a, 100), 'hit', "u2's entry in the same tenant stays")
    t.same([await status(b, 1), await status(b, 2)], ['hit', 'hit'], "tenant b's entries stay")

    // Tenant a over its budget (many users, one entry each): only tenant a's oldest go.
    for (const user of [3, 4, 5, 6]) t.equal(await put(a, 200 + user, `u${user}`), 'stored')
    const statsA = await store.stats(a)
    t.ok(statsA.bytes <= 3000, `tenant a holds at most its budget (${statsA.bytes} bytes)`)
    t.equal(await status(a, 206), 'hit', 'the newest entry stays')
    t.equal(await status(a, 100), 'miss', "tenant a's oldest entry went")
    t.same([await status(b, 1), await status(b, 2)], ['hit', 'hit'], "tenant b's entries still stay")
    t.ok((await store.stats(b)).keys === 2, 'tenant b statistics untouched')

    // One entry above a budget is not stored at all.
    const big = input('x'.repeat(1400), [], { owner: 'u9' })
    t.equal(await store.set(a, key(a, 300), await store.stamp(a), big), 'too-large', 'above the user budget')
    t.equal(await status(a, 206), 'hit', 'and it evicted nothing')
  })

  t.test('set then get returns the exact bytes and metadata', async (t) => {
    const { store } = await open(t)
    const tenant = freshTenant()
    const k = key(tenant, 1)
    const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    const miss = await store.get(tenant, k)
    t.equal(miss.status, 'miss')
    t.same(miss.also, [])
    const stamp = await store.stamp(tenant)
    t.equal(await store.set(tenant, k, stamp, input(body, ['student:1', 'class:2'])), 'stored')
    for (const round of [1, 2]) {
      const r = await store.get(tenant, k)
      t.equal(r.status, 'hit', `round ${round}`)
      if (r.status !== 'hit') return
      t.ok(r.entry.body.equals(body), 'byte-identical body')
      t.equal(r.entry.etag, strongEtag(body))
      t.equal(r.entry.generatedAt, 1_700_000_000_123)
      t.equal(r.entry.kind, 'student_progress')
      t.same([...r.entry.tags].sort(), ['class:2', 'student:1'])
      t.equal(r.entry.stamp, stamp.seq)
      t.ok(r.entry.freshUntil > r.entry.storedAt)
    }
  })

  t.test('a tag bump invalidates exactly the entries that read the tag', async (t) => {
    const { store } = await open(t)
    const tenant = freshTenant()
    const [a, b, c] = [key(tenant, 1), key(tenant, 2), key(tenant, 3)]
    const stamp = await store.stamp(tenant)
    await store.set(tenant, a, stamp, input('a', ['student:1', 'class:1']))
    await store.set(tenant, b, stamp, input('b', ['class:1']))
    await store.set(tenant, c, stamp, input('c', ['class:2']))
    await store.bump(tenant, ['student:1'])
    t.equal((await store.get(tenant, a)).status, 'miss', 'entry with the tag is gone')
    t.equal((await store.get(tenant, b)).status, 'hit', 'sibling without the tag still hits')
    t.equal((await store.get(tenant, c)).status, 'hit')
    await store.bump(tenant, ['class:1', 'assignment:9'])
    t.equal((await store.get(tenant, b)).status, 'miss')
    t.equal((await store.get(tenant, c)).status, 'hit')
    // Entries computed after the bump are valid again.
    const later = await store.stamp(tenant)
    t.equal(await store.set(tenant, a, later, input('a2', ['student:1', 'class:1'])), 'stored')
    const r = await store.get(tenant, a)
    t.equal(bodyOf(r)?.toString(), 'a2')
  })

  t.test('a stamp taken before a bump cannot store data read before it', async (t) => {
    const { store } = await open(t)
    const tenant = freshTenant()
    const k = key(tenant, 1)
    const early = await store.stamp(tenant) // the slow reader starts
    const version = await store.bump(tenant, ['student:7']) // a writer commits and bumps
    t.ok(version > early.seq, 'the bump moves past every stamp handed out')
    t.equal(await store.set(tenant, k, early, input('old', ['student:7'])), 'refused')
    t.equal((await store.get(tenant, k)).status, 'miss', 'the stale result is never served')
    // The same slow reader with an unrelated tag may store (nothing it read moved).
    t.equal(await store.set(tenant, k, early, input('unrelated', ['student:8'])), 'stored')
    t.equal((await store.get(tenant, k)).status, 'hit')
  })

  t.test('the tenant-wide bump invalidates everything of that tenant only', async (t) => {
    const { store } = await open(t)
    const [one, two] = [freshTenant(), freshTenant()]
    const s1 = await store.stamp(one)
    const s2 = await store.stamp(two)
    await store.set(one, key(one, 1), s1, input('1', ['student:1']))
    await store.set(one, key(one, 2), s1, input('2', []))
    await store.set(two, key(two, 1), s2, input('x', ['student:1']))
    await store.bump(one, ['student:1'])
    t.equal((await store.get(one, key(one, 1))).status, 'miss')
    t.equal((await store.get(two, key(two, 1))).status, 'hit', 'the same tag in another tenant is untouched')
    await store.bumpTenant(one)
    t.equal((await store.get(one, key(one, 2))).status, 'miss', 'an entry without tags is gone too')
    t.equal((await store.get(two, key(two, 1))).status, 'hit')
    t.equal(await store.set(one, key(one, 2), s1, input('late', [])), 'refused', 'old stamps are refused')
    await t.rejects(store.get(one, key(two, 1)), TypeError, "another tenant's key is rejected")
    await t.rejects(
      store.set(one, key(one, 3), s2, input('z', [])),
      TypeError,
      "another tenant's stamp is rejected",
    )
  })

  t.test('versions only increase', async (t) => {
    const { store } = await open(t)
    const tenant = freshTenant()
    const seen: number[] = []
    for (const tags of [['a:1'], ['b:1'], ['a:1', 'b:1'], ['a:1']]) seen.push(await store.bump(tenant, tags))
    seen.push(await store.bumpTenant(tenant))
    seen.push(await store.bump(tenant, ['a:1']))
    for (let i = 1; i < seen.length; i++) t.ok(seen[i] > seen[i - 1], `bump ${i} is above bump ${i - 1}`)
    const stamp = await store.stamp(tenant)
    t.ok(stamp.seq >= seen[seen.length - 1], 'a stamp is never behind a bump')
    t.equal(await store.set(tenant, key(tenant, 1), stamp, input('v', ['a:1', 'b:1'])), 'stored')
    t.equal((await store.get(tenant, key(tenant, 1))).status, 'hit', 'a stamp at the version is valid')
  })

  t.test('If-None-Match returns only the metadata', async (t) => {
    const { store } = await open(t)
    const tenant = freshTenant()
    const k = key(tenant, 1)
    const entry = input('{"big":"body"}', ['student:1'])
    await store.set(tenant, k, await store.stamp(tenant), entry)
    for (const ifNoneMatch of [[entry.etag], ['"other"', entry.etag], '*'] as const) {
      const r = await store.get(tenant, k, { ifNoneMatch })
      t.equal(r.status, 'not-modified', `matches ${JSON.stringify(ifNoneMatch)}`)
      if (r.status !== 'not-modified') continue
      t.equal(r.freshness, 'fresh')
      t.equal(r.meta.etag, entry.etag)
      t.equal(r.meta.generatedAt, entry.generatedAt)
      t.notOk('body' in r.meta, 'no body moved')
      t.notOk('entry' in r, 'no entry')
    }
    const other = await store.get(tenant, k, { ifNoneMatch: ['"other"'] })
    t.equal(bodyOf(other)?.toString(), '{"big":"body"}', 'a non-matching tag gets the body')
    await store.bump(tenant, ['student:1'])
    t.equal((await store.get(tenant, k, { ifNoneMatch: [entry.etag] })).status, 'miss', 'no 304 after a bump')
  })

  t.test('copies asked together are confirmed each by the validity get applies', async (t) => {
    const { store } = await open(t)
    if (!store.confirmCopy) {
      t.pass('this store keeps no copies: every read is a get')
      return
    }
    const tenant = freshTenant()
    const other = freshTenant()
    const [a, b, c, d] = [key(tenant, 1), key(tenant, 2), key(tenant, 3), key(tenant, 4)]
    const aux = auxKey('definition', tenant, 1)
    const elsewhere = key(other, 1)
    const stamp = await store.stamp(tenant)
    await store.set(tenant, a, stamp, input('a', ['class:1', 'student:1']))
    await store.set(tenant, b, stamp, input('b', ['class:1', 'student:2']))
    await store.set(tenant, c, stamp, input('c', ['class:1']))
    await store.set(tenant, d, stamp, input('d', ['class:2']))
    await store.set(tenant, aux, stamp, input('def', ['report:1']))
    await store.set(other, elsewhere, await store.stamp(other), input('x', ['class:1']))
    await store.bump(tenant, ['student:2'])
    await store.bump(tenant, ['report:1'])
    const auxEtag = input('def', []).etag
    const asked = [
      store.confirmCopy(tenant, a, [], []),
      store.confirmCopy(tenant, b, [], []),
      // An ETag without its `also` key is ignored, and does not shift the others.
      store.confirmCopy(tenant, c, [], ['"stray"']),
      store.confirmCopy(tenant, d, [aux], [auxEtag]),
      store.confirmCopy(other, elsewhere, [], []),
    ]
    const answers = await Promise.all(asked)
    t.same(
      answers.map((r) => r?.body.toString()),
      ['a', undefined, 'c', undefined, 'x'],
      'valid, its tag bumped, valid, its aux invalidated, another tenant valid',
    )
    t.equal((await store.get(tenant, b)).status, 'miss', 'get agrees on the bumped one')
    t.equal(
      bodyOf(await store.get(tenant, d))?.toString(),
      'd',
      'and the entry whose aux went is itself valid',
    )
  })

  t.test('entries expire after their ttl', async (t) => {
    const { store, advance } = await open(t)
    const tenant = freshTenant()
    const k = key(tenant, 1)
    const stamp = await store.stamp(tenant)
    if (advance) {
      await store.set(tenant, k, stamp, input('short', [], { ttlMs: 1000 }))
      advance(999)
      t.equal((await store.get(tenant, k)).status, 'hit')
      advance(1)
      t.equal((await store.get(tenant, k)).status, 'miss')
    } else {
      await store.set(tenant, k, stamp, input('short', [], { ttlMs: 400 }))
      await until(async () => (await store.get(tenant, k)).status === 'miss', 'the entry to expire')
      t.pass('expired')
    }
    t.equal((await store.stats(tenant)).keys, 0, 'statistics forget expired entries')
  })

  t.test('stale windows: serve while revalidating, then only on error, never after a bump', async (t) => {
    const { store, advance } = await open(t)
    const tenant = freshTenant()
    const k = key(tenant, 1)
    const entry = input('stale body', ['student:1'], {
      ttlMs: advance ? 1000 : 300,
      staleWhileRevalidateMs: advance ? 1000 : 2000,
      staleIfErrorMs: advance ? 5000 : 60_000,
    })
    await store.set(tenant, k, await store.stamp(tenant), entry)
    const freshness = async () => {
      const r = await store.get(tenant, k)
      return r.status === 'stale' ? r.freshness : r.status
    }
    if (advance) {
      t.equal(await freshness(), 'hit')
      advance(1500)
      t.equal(await freshness(), 'stale-while-revalidate')
      advance(1000)
      t.equal(await freshness(), 'stale-if-error')
      advance(5000)
      t.equal(await freshness(), 'miss')
      await store.set(tenant, k, await store.stamp(tenant), entry)
      advance(1500)
    } else {
      await until(async () => (await freshness()) === 'stale-while-revalidate', 'stale-while-revalidate')
      await until(async () => (await freshness()) === 'stale-if-error', 'stale-if-error')
      t.pass('went through both stale windows')
    }
    const r = await store.get(tenant, k, { ifNoneMatch: [entry.etag] })
    if (advance) {
      t.equal(r.status, 'not-modified', '304 is allowed while revalidating')
      t.equal(r.status === 'not-modified' && r.freshness, 'stale-while-revalidate')
    } else {
      t.equal(r.status, 'stale', 'no 304 for an entry only usable on error')
    }
    await store.bump(tenant, ['student:1'])
    t.equal(await freshness(), 'miss', 'a bumped entry is not served even as stale')
  })

  t.test('fill leases: one holder, released by set', async (t) => {
    const { store } = await open(t)
    const tenant = freshTenant()
    const k = key(tenant, 1)
    const a = await store.get(tenant, k, { lease: { token: 'A', ttlMs: 10_000 } })
    const b = await store.get(tenant, k, { lease: { token: 'B', ttlMs: 10_000 } })
    t.equal(a.lease, 'acquired')
    t.equal(b.lease, 'held')
    t.equal(
      (await store.get(tenant, k, { lease: { token: 'A', ttlMs: 10_000 } })).lease,
      'acquired',
      're-entrant',
    )
    await store.releaseLease(tenant, k, 'B')
    t.equal(
      (await store.get(tenant, k, { lease: { token: 'B', ttlMs: 10_000 } })).lease,
      'held',
      'only the holder releases',
    )
    await store.set(tenant, k, a.stamp, input('filled', []), { releaseLease: 'A' })
    const hit = await store.get(tenant, k, { lease: { token: 'B', ttlMs: 10_000 } })
    t.equal(hit.status, 'hit')
    t.equal(hit.lease, 'none', 'no lease on a fresh hit')
    await store.bump(tenant, ['x:1'])
    await store.bumpTenant(tenant)
    t.equal(
      (await store.get(tenant, k, { lease: { token: 'B', ttlMs: 10_000 } })).lease,
      'acquired',
      'free after set',
    )
    await store.releaseLease(tenant, k, 'B')
    t.equal(
      (await store.get(tenant, k, { lease: { token: 'C', ttlMs: 10_000 } })).lease,
      'acquired',
      'free after release',
    )
  })

  t.test('auxiliary values come back in the same call, with the same validity', async (t) => {
    const { store } = await open(t)
    const tenant = freshTenant()
    const k = key(tenant, 1)
    const access = auxKey('access', tenant, 'u7')
    const missing = auxKey('access', tenant, 'u8')
    const stamp = await store.stamp(tenant)
    await store.set(tenant, k, stamp, input('report', ['student:1']))
    await store.set(tenant, access, stamp, input('{"classes":[1]}', ['enrollment-of:7'], { kind: 'aux' }))
    const r = await store.get(tenant, k, { also: [access, missing] })
    t.equal(r.status, 'hit')
    t.equal(r.also.length, 2)
    t.equal(r.also[0]?.body.toString(), '{"classes":[1]}')
    t.equal(r.also[1], undefined)
    await store.bump(tenant, ['enrollment-of:7'])
    const after = await store.get(tenant, k, { also: [access] })
    t.equal(after.status, 'hit', 'the report is unaffected')
    t.equal(after.also[0], undefined, 'the access value is invalidated')
    const onlyAux = await store.get(tenant, missing, { also: [access] })
    t.equal(onlyAux.status, 'miss')
  })

  t.test('bodies above the entry limit are not stored', async (t) => {
    const { store } = await open(t, 1024)
    const tenant = freshTenant()
    const k = key(tenant, 1)
    t.equal(store.maxEntryBytes, 1024)
    const stamp = await store.stamp(tenant)
    t.equal(await store.set(tenant, k, stamp, input(Buffer.alloc(1025, 1), [])), 'too-large')
    t.equal((await store.get(tenant, k)).status, 'miss')
    t.equal(await store.set(tenant, k, stamp, input(Buffer.alloc(1024, 1), [])), 'stored')
    t.equal(await store.set(tenant, k, stamp, input('x', [], { ttlMs: 0 })), 'skipped')
  })

  t.test('a stamp from another life of the data is refused', async (t) => {
    const { store } = await open(t)
    const tenant = freshTenant()
    const real = await store.stamp(tenant)
    const foreign: Stamp = { ...real, generation: 'another-life' }
    t.equal(await store.set(tenant, key(tenant, 1), foreign, input('x', [])), 'refused')
  })

  t.test(
    'source positions: unknown in a new generation until confirmed, then raised by deliveries',
    async (t) => {
      const { store } = await open(t)
      const tenant = freshTenant()
      const position = async () => store.position(tenant, await store.stamp(tenant))
      const first = await store.stamp(tenant)
      t.equal(await store.position(tenant, first), undefined, 'a new generation does not know its position')
      await store.apply(tenant, [{ seq: 1, tag: 'student:1' }], '0000000000000010')
      t.equal(
        await position(),
        undefined,
        'a delivery alone does not make it known (earlier ones may be lost)',
      )
      await store.confirmPosition(tenant, first, '0000000000000008')
      t.equal(await position(), '0000000000000010', 'confirmed: the highest of confirmed and delivered')
      await store.apply(tenant, [{ seq: 2, tag: 'student:1' }], '00000000000000A0')
      t.equal(await position(), '00000000000000A0', 'a delivery raises it')
      await store.apply(tenant, [{ seq: 2, tag: 'student:1' }], '00000000000000FF')
      t.equal(await position(), '00000000000000A0', 'a record applied before moves nothing')
      await store.apply(tenant, [{ seq: 3, tag: 'student:2' }], '0000000000000050')
      t.equal(await position(), '00000000000000A0', 'never down')
      await store.confirmPosition(tenant, { ...first, generation: 'another-life' }, '00000000000000FF')
      t.equal(await position(), '00000000000000A0', 'a stamp of another generation confirms nothing')
      t.equal(await store.position(freshTenant(), first), undefined, 'per tenant')
      await store.reset()
      t.equal(await position(), undefined, 'after a reset, unknown again')
    },
  )

  t.test('statistics by kind follow writes, overwrites and invalidations', async (t) => {
    const { store } = await open(t)
    const tenant = freshTenant()
    const stamp = await store.stamp(tenant)
    await store.set(tenant, key(tenant, 1), stamp, input('aaaa', ['s:1']))
    await store.set(tenant, key(tenant, 2), stamp, input('bb', ['s:2']))
    await store.set(tenant, key(tenant, 3), stamp, input('c', ['s:3'], { kind: 'analytics' }))
    await store.set(tenant, key(tenant, 1), stamp, input('aaaa', ['s:1'])) // overwrite
    const stats = await store.stats(tenant)
    t.equal(stats.keys, 3)
    t.same(Object.keys(stats.byKind).sort(), ['analytics', 'student_progress'])
    t.equal(stats.byKind.student_progress.keys, 2)
    t.equal(stats.byKind.analytics.keys, 1)
    t.ok(stats.byKind.student_progress.bytes > stats.byKind.analytics.bytes)
    t.equal(stats.bytes, stats.byKind.student_progress.bytes + stats.byKind.analytics.bytes)
    t.equal(await store.countEntries(tenant), 3)
    t.equal(await store.countEntries(tenant, key(tenant, 2)), 1)
    t.equal((await store.stats(freshTenant())).keys, 0, 'other tenants are separate')
    await store.bump(tenant, ['s:3'])
    await store.get(tenant, key(tenant, 3)) // an invalid entry is dropped when met
    const after = await store.stats(tenant)
    t.equal(after.keys, 2)
    t.notOk('analytics' in after.byKind)
  })
}
