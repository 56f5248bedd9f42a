import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import t from 'tap'
import { CircuitBreaker, CircuitOpenError } from '../../src/cache/breaker.js'
import { type CacheOutcome, TaggedCache } from '../../src/cache/cache.js'
import { createRedisClient, RedisStore } from '../../src/cache/redis-store.js'
import { key, until } from './store-contract.js'

t.test('circuit breaker states', async (t) => {
  let now = 0
  const breaker = new CircuitBreaker({ failureThreshold: 3, coolDownMs: 1000, now: () => now })
  t.equal(breaker.state, 'closed')
  breaker.onFailure()
  breaker.onFailure()
  breaker.onSuccess()
  breaker.onFailure()
  breaker.onFailure()
  t.equal(breaker.state, 'closed', 'a success resets the count of consecutive failures')
  breaker.onFailure()
  t.equal(breaker.state, 'open')
  t.notOk(breaker.allowRequest(), 'open: requests are skipped')
  now += 999
  t.notOk(breaker.allowRequest())
  now += 1
  t.ok(breaker.allowRequest(), 'after the cool-down one probe goes through')
  t.equal(breaker.state, 'half-open')
  t.notOk(breaker.allowRequest(), 'only one probe at a time')
  breaker.onFailure()
  t.equal(breaker.state, 'open', 'a failed probe opens again')
  now += 500
  t.notOk(breaker.allowRequest(), 'for a new cool-down')
  now += 500
  t.ok(breaker.allowRequest())
  now += 1000
  t.ok(breaker.allowRequest(), 'a probe that never reported is replaced after a cool-down')
  breaker.onSuccess()
  t.equal(breaker.state, 'closed')
  t.ok(breaker.allowRequest())
})

t.test('run() skips the function while open', async (t) => {
  let now = 0
  const breaker = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 100, now: () => now })
  let calls = 0
  await t.rejects(
    breaker.run(async () => {
      calls++
      throw new Error('down')
    }),
    { message: 'down' },
  )
  await t.rejects(
    breaker.run(async () => calls++),
    CircuitOpenError,
  )
  t.equal(calls, 1)
  now += 100
  t.equal(await breaker.run(async () => ++calls), 2)
  t.equal(breaker.state, 'closed')
  t.throws(() => new CircuitBreaker({ failureThreshold: 0 }), RangeError)
})

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

async function ping(port: number): Promise<boolean> {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return (await probe.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

/** A private redis-server on `port`, keeping its RDB in `dir` (so a restart can bring old entries back). */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  )
  await until(() => ping(port), `redis-server on port ${port}`)
  return child
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}

t.test('Redis outage: BYPASS while down, failed bumps replayed before anything is served', async (t) => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'cache-outage-'))
  const children: ChildProcess[] = []
  const clients: Redis[] = []
  t.teardown(async () => {
    for (const client of clients) client.disconnect()
    for (const child of children) await stopRedis(child)
    rmSync(dir, { recursive: true, force: true })
  })
  const url = `redis://127.0.0.1:${port}`
  const client = createRedisClient(url, { commandTimeoutMs: 500, maxReconnectDelayMs: 50 })
  clients.push(client)
  // Background replay disabled here: the foreground path alone must prevent stale reads.
  const store = new RedisStore({
    client,
    prefix: 'outage:',
    breaker: { failureThreshold: 2, coolDownMs: 100 },
    flushIntervalMs: 3_600_000,
  })
  const cache = new TaggedCache({ store, waitMs: 1000 })
  const db = { value: 'v1', computations: 0 }
  const k = key(1, 7)
  const read = (): Promise<CacheOutcome> =>
    cache.getOrCompute({
      tenantId: 1,
      key: k,
      kind: 'student_progress',
      tags: ['report:7'],
      policy: { ttl: 600, staleWhileRevalidate: 0, staleIfError: 0 },
      compute: async () => {
        db.computations++
        return { body: Buffer.from(db.value), tags: ['student:1'] }
      },
    })

  // Redis down at start: answers come from the database.
  const first = await read()
  t.equal(first.result, 'bypass')
  t.equal(first.xCache, 'BYPASS')
  t.equal(first.body?.toString(), 'v1')

  children.push(await startRedis(port, dir))
  const recovered = await until(async () => {
    const r = await read()
    return r.result === 'miss' && r
  }, 'the cache to use Redis once it is up')
  t.equal(recovered.body?.toString(), 'v1')
  const hit = await read()
  t.equal(hit.result, 'hit')

  // Persist the entry, as a Redis with snapshots would, then lose Redis.
  const admin = new Redis(url)
  clients.push(admin)
  await admin.save()
  await stopRedis(children[0])

  // A mutation commits while Redis is down: its invalidation cannot be delivered.
  db.value = 'v2'
  const invalidation = await cache.invalidate(1, ['student:1'])
  t.equal(invalidation.delivered, false)
  t.equal(store.pendingInvalidations(), 1)
  const during: CacheOutcome[] = []
  for (let i = 0; i < 20; i++) during.push(await read())
  t.ok(
    during.every((r) => r.result === 'bypass' && r.body?.toString() === 'v2'),
    'every request answered from the database',
  )
  t.equal(store.breaker.state, 'open', 'the breaker stopped waiting on the dead Redis')
  t.ok(cache.counters.events.storeErrors > 0)

  // Redis comes back with the old entry (and the old tag versions) from its snapshot.
  children.push(await startRedis(port, dir))
  const direct = new Redis(url)
  clients.push(direct)
  t.equal(await direct.exists(`outage:${k}`), 1, 'the pre-mutation entry is back in Redis')
  const served: string[] = []
  const next = await until(async () => {
    const r = await read()
    served.push(`${r.result}:${r.body?.toString()}`)
    return r.result !== 'bypass' && r
  }, 'recovery')
  t.notOk(
    served.some((s) => s.endsWith(':v1')),
    `the entry stored before the failed bump is never served (${served.join(', ')})`,
  )
  t.equal(next.result, 'miss')
  t.equal(next.body?.toString(), 'v2')
  t.equal(store.pendingInvalidations(), 0, 'the bump was replayed')
  t.equal(store.health(), 'operational')
  t.equal((await read()).result, 'hit')
  t.equal((await read()).body?.toString(), 'v2')

  // The background replay delivers a failed bump without any read.
  const client2 = createRedisClient(url, { commandTimeoutMs: 500, maxReconnectDelayMs: 50 })
  clients.push(client2)
  const store2 = new RedisStore({ client: client2, prefix: 'outage:', flushIntervalMs: 20 })
  await until(() => client2.status === 'ready', 'the second client')
  const before = Number(await direct.get('outage:tag:{1}:student:2'))
  await stopRedis(children[1])
  await t.rejects(store2.bump(1, ['student:2']))
  t.equal(store2.pendingInvalidations(), 1)
  children.push(await startRedis(port, dir))
  await until(() => store2.pendingInvalidations() === 0, 'the background replay')
  const admin3 = new Redis(url)
  clients.push(admin3)
  t.ok(Number(await admin3.get('outage:tag:{1}:student:2')) > before, 'the tag version moved')
  await store2.close()
  await store.close()
})
