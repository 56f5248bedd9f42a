// Provides app.redis (ioredis through @fastify/redis) when REDIS_URL is set.
// The client is made for a cache (STACK.md): no offline queue, short command
// timeout, an error listener. A Redis that is down at start must not stop the
// service (ARCHITECTURE.md "When things fail"): @fastify/redis waits for
// 'ready' and would time out, so it is only used once the client is ready;
// otherwise the client is decorated as is and keeps reconnecting in the
// background while the store's circuit breaker answers BYPASS.
import fastifyRedis from '@fastify/redis'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { createRedisClient } from '../src/cache/redis-store.js'

export interface RedisPluginOptions {
  url?: string
  commandTimeoutMs?: number
  /** How long start-up waits for a first connection. */
  connectWaitMs?: number
}

function readyWithin(client: Redis, ms: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true)
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer)
      client.off('ready', onReady)
      resolve(ok)
    }
    const onReady = () => done(true)
    const timer = setTimeout(() => done(false), ms)
    client.on('ready', onReady)
  })
}

async function redis(app: FastifyInstance, opts: RedisPluginOptions): Promise<void> {
  if (!opts.url) return
  const client = createRedisClient(opts.url, { commandTimeoutMs: opts.commandTimeoutMs })
  // Never log the URL: it may carry a password.
  client.on('error', (err: Error) => app.log.debug({ err: { message: err.message } }, 'cache.redis.error'))
  // Closed here, not by @fastify/redis: its QUIT rejects while Redis is down
  // (no offline queue), which would make app.close() — a graceful shutdown — fail.
  app.addHook('onClose', async () => {
    if (client.status === 'ready') await client.quit().catch(() => client.disconnect())
    else client.disconnect()
  })
  if (await readyWithin(client, opts.connectWaitMs ?? 1_000)) {
    await app.register(fastifyRedis, { client, closeClient: false })
    return
  }
  app.log.warn('cache.redis.unavailable_at_start')
  app.decorate('redis', client as unknown as FastifyInstance['redis'])
}

export default fp(redis, { name: 'redis' })
