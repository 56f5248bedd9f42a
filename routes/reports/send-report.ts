// Turns a cache outcome into the HTTP response of GET/HEAD /reports/:id:
// validators, policy, Vary, X-Cache, and 304 when a precondition says so.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { answerOf } from '../../src/cache/hit-rate.js'
import { cacheControl, formatHttpDate, notModifiedSince } from '../../src/cache/http.js'
import type { CachePolicy } from '../../src/cache/policy.js'
import type { ReadOutcome } from '../../src/reports/report-reader.js'

export function sendReport(
  request: FastifyRequest,
  reply: FastifyReply,
  outcome: ReadOutcome,
  policy: CachePolicy,
): FastifyReply {
  reply.headers({
    // RFC 9110 §8.8.3: a strong validator over the exact body bytes, computed once at store time.
    etag: outcome.etag,
    // RFC 9110 §8.8.2: when the body was generated.
    'last-modified': formatHttpDate(outcome.generatedAt),
    // RFC 9111 §5.2.2: the type's policy; `private` since the body depends on access.
    'cache-control': cacheControl(policy),
    // RFC 9110 §12.5.5: the body depends on who asks, i.e. on Authorization.
    vary: 'Authorization',
    'x-cache': outcome.xCache,
  })
  // RFC 9110 §13.2.2: If-None-Match (evaluated by the cache, weak comparison
  // §13.1.2) takes precedence; If-Modified-Since only when it is absent (§13.1.3).
  // Last-Modified has one-second resolution (§8.8.2.2), so If-None-Match is the
  // validator that catches a change within the same second.
  const notModified =
    outcome.notModified ||
    (request.headers['if-none-match'] === undefined &&
      notModifiedSince(request.headers['if-modified-since'], outcome.generatedAt, request.method))
  // Counted in process (no I/O): GET /cache/hit-rate and /metrics.
  request.server.hitRate.record(
    request.principal.tenantId,
    outcome.type,
    answerOf(outcome.result, notModified),
  )
  if (notModified) {
    // RFC 9110 §15.4.5: 304 carries the validators and Cache-Control/Vary the
    // 200 would have had, and no content (so no Content-Type/Length).
    return reply.code(304).send()
  }
  reply.type('application/json; charset=utf-8')
  // RFC 9110 §9.3.2: HEAD gets the GET's headers, Content-Length included, and no
  // content; the body is not handed to the socket at all.
  if (request.method === 'HEAD') {
    reply.header('content-length', String(outcome.body?.length ?? 0))
    return reply.send()
  }
  return reply.send(outcome.body)
}
