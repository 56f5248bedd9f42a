// The invalidation promise under concurrency: after a mutation is acknowledged,
// no read that starts later returns data older than it. First the classic
// cache-aside race held open with a latch, then a randomized run that counts
// stale reads. Both against the memory store and the real Redis.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { TaggedCache } from '../../src/cache/cache.js'
import { MemoryStore } from '../../src/cache/memory-store.js'
import { createRedisClient, RedisStore } from '../../src/cache/redis-store.js'
import { tallyResults } from '../helpers/cache-results.js'
import { deleteByPrefix, freshTenant, key, latch, until } from './store-contract.js'

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const prefix = `test-race-${randomBytes(4).toString('hex')}:`
const admin = new Redis(REDIS_URL)
t.teardown(async () => {
  await deleteByPrefix(admin, prefix)
  admin.disconnect()
})

const POLICY = { ttl: 600, staleWhileRevalidate: 0, staleIfError: 0 }

/** Two caches sharing one store: two processes on Redis (one client each), or two users of one memory store. */
async function twoCaches(t: Test, backend: 'memory' | 'redis'): Promise<[TaggedCache, TaggedCache]> {
  if (backend === 'memory') {
    const store = new MemoryStore()
    return [new TaggedCache({ store }), new TaggedCache({ store })]
  }
  const make = async () => {
    const client = createRedisClient(REDIS_URL, { commandTimeoutMs: 5000 })
    await until(() => client.status === 'ready', 'redis connection')
    t.teardown(() => client.disconnect())
    return new TaggedCache({ store: new RedisStore({ client, prefix }) })
  }
  return [await make(), await make()]
}

for (const backend of ['memory', 'redis'] as const) {
  t.test(`${backend}: a slow computation overlapping a committed mutation is never served`, async (t) => {
    const [cache] = await twoCaches(t, backend)
    const tenant = freshTenant()
    const k = key(tenant, 1)
    const db = { grade: 'B' }
    const readDone = latch()
    const release = latch()
    let computations = 0
    const compute = async () => {
      computations++
      const seen = db.grade // reads the old row...
      if (computations === 1) {
        readDone.resolve()
        await release.promise // ...and is held here while the writer commits
      }
      return { body: Buffer.from(`grade ${seen}`), tags: ['student:7'] }
    }
    const request = { tenantId: tenant, key: k, kind: 'student_progress', policy: POLICY, compute }

    const slow = cache.getOrCompute(request)
    await readDone.promise
    db.grade = 'A' // the mutation commits
    const invalidation = await cache.invalidate(tenant, ['student:7']) // and is acknowledged
    t.equal(invalidation.delivered, true)
    release.resolve() // the slow reader now tries to store "grade B"
    const overlapping = await slow
    t.equal(overlapping.body?.toString(), 'grade B', 'the overlapping read returns what it read')
    t.equal(cache.counters.events.refusedWrites, 1, 'its write was refused')

    const next = await cache.getOrCompute(request)
    t.equal(next.body?.toString(), 'grade A', 'the next read sees the mutation')
    t.equal(next.result, 'miss')
    const again = await cache.getOrCompute(request)
    t.equal(again.result, 'hit')
    t.equal(again.body?.toString(), 'grade A')
  })

  t.test(`${backend}: randomized graders and readers never read stale data`, async (t) => {
    const caches = await twoCaches(t, backend)
    const tallies = caches.map((cache) => tallyResults(t, cache))
    const tenant = freshTenant()
    const ROWS = 6
    const REPORTS = 8
    // The "database": a version per row; `acked` is what writers have acknowledged.
    const rows = new Array<number>(ROWS).fill(0)
    const acked = new Array<number>(ROWS).fill(0)
    const reads = (report: number) => [report % ROWS, (report + 1) % ROWS, (report * 3) % ROWS]
    const random = (n: number) => Math.floor(Math.random() * n)
    const jitter = async () => {
      for (let i = random(4); i > 0; i--) await new Promise((resolve) => setImmediate(resolve))
      if (random(4) === 0) await new Promise((resolve) => setTimeout(resolve, random(3)))
    }
    let stale = 0
    const staleExamples: string[] = []
    let computations = 0

    const grader = async (writes: number) => {
      for (let i = 0; i < writes; i++) {
        const row = random(ROWS)
        rows[row]++
        const version = rows[row] // committed
        await jitter()
        const outcome = await caches[random(2)].invalidate(tenant, [`row:${row}`])
        if (!outcome.delivered) throw new Error('invalidation not delivered')
        acked[row] = Math.max(acked[row], version) // the 2xx is sent
        await jitter()
      }
    }

    const reader = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const report = random(REPORTS)
        const rowsRead = reads(report)
        const required = rowsRead.map((row) => acked[row]) // acknowledged before this read began
        const outcome = await caches[random(2)].getOrCompute({
          tenantId: tenant,
          key: key(tenant, report),
          kind: 'analytics',
          tags: [`report:${report}`],
          policy: POLICY,
          compute: async () => {
            computations++
            const seen: number[] = []
            for (const row of rowsRead) {
              await jitter()
              seen.push(rows[row])
            }
            return { body: Buffer.from(JSON.stringify(seen)), tags: rowsRead.map((row) => `row:${row}`) }
          },
        })
        const seen = JSON.parse(outcome.body!.toString()) as number[]
        seen.forEach((version, j) => {
          if (version < required[j]) {
            stale++
            if (staleExamples.length < 5) {
              staleExamples.push(
                `report ${report} row ${rowsRead[j]}: got v${version}, acked v${required[j]} (${outcome.result})`,
              )
            }
          }
        })
        await jitter()
      }
    }

    await Promise.all([
      ...Array.from({ length: 4 }, () => grader(80)),
      ...Array.from({ length: 8 }, () => reader(120)),
    ])
    const hits = tallies[0].total.hits + tallies[1].total.hits
    const refused = caches[0].counters.events.refusedWrites + caches[1].counters.events.refusedWrites
    t.comment(
      `${backend}: ${hits} hits, ${computations} computations, ${refused} refused writes of 960 reads`,
    )
    t.equal(stale, 0, `no stale reads ${staleExamples.join('; ')}`)
    t.ok(hits > 0, 'the cache served hits meanwhile')
    t.equal(tallies[0].total.bypass + tallies[1].total.bypass, 0, 'the store stayed available')
  })
}
