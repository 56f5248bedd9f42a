// Provides app.redis (ioredis through @fastify/redis) when REDIS_URL is set, or
// an ioredis Cluster when REDIS_CLUSTER_NODES is (app.redis is typed as a
// standalone client by @fastify/redis; every consumer here takes either, see
// RedisClient in src/cache/redis-store.ts).
// The client is made for a cache (STACK.md): no offline queue, short command
// timeout, an error listener. A Redis that is down at start must not stop the
// service (ARCHITECTURE.md "When things fail"): @fastify/redis waits for
// 'ready' and would time out, so it is only used once the client is ready;
// otherwise the client is decorated as is and keeps reconnecting in the
// background while the store's circuit breaker answers BYPASS.
import fastifyRedis from '@fastify/redis'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import {
  type ClusterNode,
  createRedisClient,
  createRedisCluster,
  type RedisClient,
} from '../src/cache/redis-store.js'
import { RedisState, reasonOf } from '../src/redis-state.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Up/down of Redis for operators: one log line per change (only with REDIS_URL). */
    redisState: RedisState
  }
}

export interface RedisPluginOptions {
  url?: string
  /** Startup nodes of a Redis Cluster (instead of url). */
  clusterNodes?: readonly ClusterNode[]
  commandTimeoutMs?: number
  /** How long start-up waits for a first connection. */
  connectWaitMs?: number
}

function readyWithin(client: RedisClient, ms: number): Promise<boolean> {
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
  const clientOptions = { commandTimeoutMs: opts.commandTimeoutMs }
  let client: RedisClient
  let host: string
  if (opts.clusterNodes && opts.clusterNodes.length > 0) {
    client = createRedisCluster(opts.clusterNodes, clientOptions)
    host = opts.clusterNodes.map((n) => `${n.host}:${n.port}`).join(',')
  } else if (opts.url) {
    const single = createRedisClient(opts.url, clientOptions)
    // Never log the URL: it may carry a password; host and port name the server.
    host = `${single.options.host}:${single.options.port}`
    client = single
  } else return
  const state = new RedisState(host, app.log)
  app.decorate('redisState', state)
  let closing = false
  client.on('error', (err: Error) => {
    // Every reconnection attempt fails while Redis is down: counted (and in
    // redis_connection_errors_total), logged once by the state change.
    state.failure(err)
    app.log.debug({ host: state.host, reason: reasonOf(err) }, 'cache.redis.error')
  })
  // A lost connection is a change of state; failed reconnection attempts are not.
  let connected = false
  client.on('close', () => {
    if (connected && !closing) state.down(state.lastReason ?? { message: 'connection closed' })
    connected = false
  })
  client.on('ready', () => {
    connected = true
    state.up()
  })
  // Closed here, not by @fastify/redis: its QUIT rejects while Redis is down
  // (no offline queue), which would make app.close() — a graceful shutdown — fail.
  app.addHook('onClose', async () => {
    closing = true
    if (client.status === 'ready') await client.quit().catch(() => client.disconnect())
    else client.disconnect()
  })
  if (await readyWithin(client, opts.connectWaitMs ?? 1_000)) {
    await app.register(fastifyRedis, { client, closeClient: false })
    return
  }
  state.down(
    state.lastReason ?? { message: `not ready within ${opts.connectWaitMs ?? 1_000} ms` },
    'cache.redis.unavailable_at_start',
  )
  app.decorate('redis', client as unknown as FastifyInstance['redis'])
}

export default fp(redis, { name: 'redis' })
