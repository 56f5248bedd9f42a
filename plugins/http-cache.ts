// HTTP caching of every route but the report results: reads get `private,
// no-cache`, a strong ETag over their bytes and a 304 when If-None-Match
// matches (decided by src/cache/conditional.ts, like every conditional of the
// service); mutations `no-store`. Added per route (onRoute), so a route that
// sets its own validators (`config.reportCache`: GET/HEAD /reports/:id) runs
// no onSend hook at all.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { evaluatePreconditions } from '../src/cache/conditional.js'

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

/** RFC 9110 §8.8.3: a strong validator of these exact bytes (sha1, base64, quoted). */
function etagOf(payload: string | Buffer): string {
  return `"${createHash('sha1').update(payload).digest('base64')}"`
}

function isSafe(method: string): boolean {
  return method === 'GET' || method === 'HEAD'
}

const readCache: onSendHookHandler = (request: FastifyRequest, reply: FastifyReply, payload, done) => {
  if (!isSafe(request.method)) {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', NO_STORE)
    return done(null, payload)
  }
  // RFC 9110 §13.1.2: 304s exist only for a 200 to GET/HEAD.
  if (reply.statusCode !== 200) return done(null, payload)
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', READ_CACHE_CONTROL)
  const cacheControl = String(reply.getHeader('cache-control'))
  // A no-store response (e.g. /health, /metrics) is never revalidated: hashing it is wasted work.
  if (cacheControl.includes('no-store')) return done(null, payload)
  let etag = reply.getHeader('etag')
  if (etag === undefined && (typeof payload === 'string' || Buffer.isBuffer(payload))) {
    etag = etagOf(payload)
    reply.header('etag', etag)
  }
  if (typeof etag !== 'string') return done(null, payload)
  // RFC 9110 §12.5.5: a per-caller read varies with the credentials.
  if (cacheControl.startsWith('private') && !reply.hasHeader('vary')) reply.header('vary', 'Authorization')
  const outcome = evaluatePreconditions({
    method: request.method,
    ifNoneMatch: request.headers['if-none-match'],
    etag,
  })
  if (outcome !== 'not-modified') return done(null, payload)
  // RFC 9110 §15.4.5: 304 keeps ETag, Cache-Control and Vary, carries no
  // content, and no Content-Type/Content-Length (the 200's length would be
  // allowed, the empty body's would not, §8.6).
  reply.code(304)
  reply.removeHeader('content-type')
  reply.removeHeader('content-length')
  // A null payload sends nothing; Fastify's automatic HEAD route expects a
  // payload it can read, so it gets an empty stream, which it drains.
  done(null, request.method === 'HEAD' ? Readable.from([]) : null)
}

async function httpCache(app: import('fastify').FastifyInstance): Promise<void> {
  app.addHook('onRoute', (route) => {
    if (route.config?.reportCache === true) return
    const hooks =
      route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend]
    // An automatic HEAD route is made from its GET's options: add the hook once,
    // first (as a global hook would run), so it sees the body before the HEAD route drops it.
    if (hooks.includes(readCache)) return
    route.onSend = [readCache, ...hooks]
  })
}

export default fp(httpCache, { name: 'http-cache' })
