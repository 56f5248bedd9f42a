// Builds the app: plugins, then routes, one error handler. No listening here
// (see server.ts), so tests build as many apps as they need.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { DatabaseHandle } from '../db/connect.js'
import authPlugin from '../plugins/auth.js'
import cacheInsightsPlugin from '../plugins/cache-insights.js'
import dbPlugin from '../plugins/db.js'
import hitRatePlugin from '../plugins/hit-rate.js'
import httpCachePlugin from '../plugins/http-cache.js'
import inputGuardPlugin from '../plugins/input-guard.js'
import invalidationPlugin from '../plugins/invalidation.js'
import metricsPlugin from '../plugins/metrics.js'
import openapiPlugin from '../plugins/openapi.js'
import redisPlugin from '../plugins/redis.js'
import replicaPlugin from '../plugins/replica.js'
import reportCachePlugin from '../plugins/report-cache.js'
import ttlPolicyPlugin from '../plugins/ttl-policy.js'
import cacheRoutes from '../routes/cache/index.js'
import healthRoutes from '../routes/health.js'
import metricsRoute from '../routes/metrics.js'
import reportRoutes from '../routes/reports/index.js'
import reportResultRoute from '../routes/reports/result.js'
import schoolRoutes from '../routes/school/index.js'
import { resolveJwtSecret } from './auth/secret.js'
import type { Config } from './config.js'
import { frameworkErrors, installErrorHandler } from './error-handler.js'
import { inputAjvPlugin } from './input-schemas.js'
import { installAccessLog, loggingOptions } from './logging.js'
import { schemaErrorFormatter } from './validation.js'

export interface BuildOptions {
  config: Config
  /** An already open database shared with the caller (tests); not closed by the app. */
  db?: DatabaseHandle
  logger?: FastifyServerOptions['logger']
}

export type App = FastifyInstance

export async function buildApp(options: BuildOptions): Promise<App> {
  const { config } = options
  const logging = loggingOptions(config.logLevel)
  const app = Fastify({
    ...logging,
    logger: options.logger ?? logging.logger,
    // Input is never coerced (API.md); URL integers are converted by src/input-schemas.ts.
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false },
      onCreate: inputAjvPlugin,
    },
    schemaErrorFormatter,
    frameworkErrors,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }).withTypeProvider<TypeBoxTypeProvider>()

  installErrorHandler(app)
  installAccessLog(app)
  // Before every route (the framework's too): unknown query parameters and NULs are 400s.
  await app.register(inputGuardPlugin)
  // Before every route too: it adds its hooks per route (ETag and Cache-Control; report results set their own).
  await app.register(httpCachePlugin)

  await app.register(openapiPlugin)

  await app.register(dbPlugin, {
    handle: options.db,
    databaseUrl: config.databaseUrl,
    schema: config.databaseSchema,
    dataDir: `${config.dataDir}/pg`,
  })
  await app.register(replicaPlugin, {
    url: config.databaseReplicaUrl,
    schema: config.databaseSchema,
    maxLagMs: config.replicaMaxLagMs,
  })
  await app.register(authPlugin, { secret: resolveJwtSecret(config.jwtSecret, config.dataDir) })

  await app.register(redisPlugin, {
    url: config.redisUrl,
    clusterNodes: config.redisClusterNodes,
    commandTimeoutMs: config.redisCommandTimeoutMs,
  })
  await app.register(ttlPolicyPlugin, { overrides: config.cachePolicy })
  await app.register(reportCachePlugin, {
    redisPrefix: config.redisPrefix,
    maxEntries: config.cacheMaxEntries,
    maxBytes: config.cacheMaxBytes,
    maxEntryBytes: config.cacheMaxEntryBytes,
    tenantMaxBytes: config.cacheTenantMaxBytes,
    userMaxBytes: config.cacheUserMaxBytes,
  })
  await app.register(invalidationPlugin, {
    redisPrefix: config.redisPrefix,
    waitMs: config.invalidationWaitMs,
    pollIntervalMs: config.invalidationPollMs,
    pruneIntervalMs: config.invalidationPruneMs,
    staleConsumerSeconds: config.invalidationConsumerTimeoutSeconds,
    // Positions go with the bumps only where a replica reads them (db/replica.ts).
    withPosition: config.databaseReplicaUrl !== undefined,
  })
  await app.register(hitRatePlugin, { redisPrefix: config.redisPrefix })
  // Before the routes: its onResponse hook times every route registered after it.
  await app.register(metricsPlugin)
  await app.register(cacheInsightsPlugin)

  await app.register(healthRoutes)
  await app.register(metricsRoute)
  await app.register(cacheRoutes, { prefix: '/cache' })
  await app.register(reportRoutes, { prefix: '/reports' })
  // Apart from the definition routes: no hook of theirs runs before its hit path.
  await app.register(reportResultRoute, { prefix: '/reports' })
  await app.register(schoolRoutes)

  return app
}
