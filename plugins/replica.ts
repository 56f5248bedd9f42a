// Provides app.replica: the read-replica router (db/replica.ts) when
// DATABASE_REPLICA_URL is set, else null. Report computations go through it;
// everything else keeps using app.db (the primary). Its state is /health's
// `replica` field.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { openDatabase } from '../db/connect.js'
import { ReplicaRouter } from '../db/replica.js'

declare module 'fastify' {
  interface FastifyInstance {
    replica: ReplicaRouter | null
  }
}

export interface ReplicaPluginOptions {
  url?: string
  /** The primary's schema (the replica has the same). */
  schema?: string
  maxLagMs: number
}

async function replica(app: FastifyInstance, opts: ReplicaPluginOptions): Promise<void> {
  if (!opts.url) {
    app.decorate('replica', null)
    return
  }
  // A replica that stops answering must cost a computation little before it falls back.
  const handle = await openDatabase({
    databaseUrl: opts.url,
    schema: opts.schema,
    createSchema: false,
    connectTimeoutMs: 1000,
  })
  const router = new ReplicaRouter({
    primary: app.db,
    replica: handle.db,
    maxLagMs: opts.maxLagMs,
    onStateChange: (state, previous) => {
      if (state === 'up') app.log.info({ state, previous }, 'replica.state')
      else app.log.warn({ state, previous }, 'replica.state')
    },
    onError: (err, operation) =>
      app.log.debug({ err: { message: (err as Error).message }, operation }, 'replica.failure'),
  })
  await router.start()
  app.decorate('replica', router)
  app.addHook('onClose', async () => {
    await router.stop()
    await handle.close()
  })
}

export default fp(replica, { name: 'replica', dependencies: ['db'] })
