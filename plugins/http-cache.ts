// HTTP caching for every route except the report results: @fastify/caching
// gives reads `private, no-cache`, @fastify/etag hashes their bodies, and a
// hook of ours answers If-None-Match per RFC 9110 (the plugin's own 304 compares
// the header as one string, on any method and status). Routes with
// `config.reportCache` set their own validators and Cache-Control and answer
// their own 304s before computing (routes/reports/send-report.ts); they are skipped.
import { Readable } from 'node:stream'
import caching, { type AbstractCacheCompliantObject } from '@fastify/caching'
import etag from '@fastify/etag'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { matchesIfNoneMatch } from '../src/cache/http.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route sets ETag, Last-Modified, Cache-Control and Vary and answers 304 itself. */
    reportCache?: boolean
  }
}

/**
 * RFC 9111 §5.2.2.4: `no-cache` lets a browser keep the response but never reuse
 * it without a successful revalidation (a 304 from us); §5.2.2.7 `private`: the
 * body depends on the caller, so shared caches must not store it.
 */
export const READ_CACHE_CONTROL = 'private, no-cache'
/** RFC 9111 §5.2.2.5: mutation responses and errors are stored by no cache. */
export const NO_STORE = 'no-store'

// Set before @fastify/etag's hook on responses that must not get a generated
// ETag (the plugin skips hashing when an ETag exists); removed right after it.
// Not a valid entity-tag (RFC 9110 §8.8.3), so it can never match anything.
const NO_ETAG = 'no-etag'

type Done = (err?: Error | null, payload?: unknown) => void

function isSafe(method: string): boolean {
  return method === 'GET' || method === 'HEAD'
}

/**
 * @fastify/caching looks If-None-Match up in this registry in an onRequest hook,
 * before authentication, and answers 304 on a hit; entries come only from its
 * `reply.etag()` (a random id, not a content hash), which this service never
 * uses. An always-empty registry keeps that shortcut off (and costs nothing).
 */
const noEtagRegistry = {
  get(_key: unknown, callback?: (error: unknown, result: null) => void) {
    if (callback) return callback(null, null)
    return Promise.resolve(null)
  },
  set(_key: unknown, _value: unknown, _ttl: number, callback?: (error: unknown, result: unknown) => void) {
    callback?.(null, undefined)
  },
} as AbstractCacheCompliantObject

function beforeEtag(request: FastifyRequest, reply: FastifyReply, _payload: unknown, done: Done): void {
  if (!isSafe(request.method) && !reply.hasHeader('cache-control')) reply.header('cache-control', NO_STORE)
  if (!reply.hasHeader('etag') && !wantsGeneratedEtag(request, reply)) reply.header('etag', NO_ETAG)
  done()
}

/**
 * A generated ETag only for a 200 to GET/HEAD (RFC 9110 §13.1.2: 304s exist only
 * for those) that a cache may store: a no-store response (e.g. /health,
 * /metrics) is never revalidated, so hashing it is wasted work.
 */
function wantsGeneratedEtag(request: FastifyRequest, reply: FastifyReply): boolean {
  const cacheControl = reply.getHeader('cache-control')
  return (
    isConditionalRead(request, reply) &&
    !(typeof cacheControl === 'string' && cacheControl.includes('no-store'))
  )
}

function afterEtag(request: FastifyRequest, reply: FastifyReply, _payload: unknown, done: Done): void {
  const tag = reply.getHeader('etag')
  if (tag === NO_ETAG) reply.removeHeader('etag')
  else if (typeof tag === 'string' && isConditionalRead(request, reply)) {
    const cacheControl = reply.getHeader('cache-control')
    // RFC 9110 §12.5.5: a per-caller read varies with the credentials.
    if (typeof cacheControl === 'string' && cacheControl.startsWith('private') && !reply.hasHeader('vary')) {
      reply.header('vary', 'Authorization')
    }
    // RFC 9110 §13.1.2: weak comparison against each listed tag, or `*`.
    if (matchesIfNoneMatch(request.headers['if-none-match'], tag)) {
      // RFC 9110 §15.4.5: 304 keeps ETag, Cache-Control and Vary, carries no
      // content, and no Content-Type/Content-Length (the 200's length would be
      // allowed, the empty body's would not, §8.6).
      reply.code(304)
      reply.removeHeader('content-type')
      reply.removeHeader('content-length')
      // A null payload sends nothing; Fastify's automatic HEAD route expects a
      // payload it can read, so it gets an empty stream, which it drains.
      done(null, request.method === 'HEAD' ? Readable.from([]) : null)
      return
    }
  }
  done()
}

/** A 200 to GET/HEAD on a route that leaves conditional requests to this plugin. */
function isConditionalRead(request: FastifyRequest, reply: FastifyReply): boolean {
  return (
    isSafe(request.method) && reply.statusCode === 200 && request.routeOptions.config?.reportCache !== true
  )
}

async function httpCache(app: FastifyInstance): Promise<void> {
  app.addHook('onSend', beforeEtag)
  // Order matters (STACK.md): caching's Cache-Control hook must see the 200
  // before it becomes a 304, or it would write `no-store` on the 304.
  await app.register(caching, { privacy: READ_CACHE_CONTROL, cache: noEtagRegistry })
  // 304s are ours (afterEtag); the plugin only hashes the body (sha1, base64: a
  // strong validator of these exact bytes, RFC 9110 §8.8.3).
  await app.register(etag, { replyWith304: false })
  app.addHook('onSend', afterEtag)
}

export default fp(httpCache, { name: 'http-cache' })
