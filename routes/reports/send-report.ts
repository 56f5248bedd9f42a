// Turns a read outcome into the HTTP response of GET/HEAD /reports/:id:
// validators, policy, Vary, X-Cache, and 304 when the conditions say so (the
// decision is the cache's, by src/cache/conditional.ts). Header values are
// prepared once per entry (keyed by its ETag, which names its exact bytes) and
// reused by every HIT of it.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CacheOutcome } from '../../src/cache/cache.js'
import { cacheControl, formatHttpDate } from '../../src/cache/http.js'
import type { PolicyTable } from '../../src/cache/policy.js'

type Headers = Record<string, string>

/** Flat [name, value, …] header lists, which Node writes without looking them up again. */
interface Prepared {
  ok: string[]
  notModified: string[]
  /** `ok` carries Content-Length (a 304 prepared first has no body to measure). */
  hasLength: boolean
}

const JSON_TYPE = 'application/json; charset=utf-8'
const MAX_PREPARED = 10_000

export class ReportResponder {
  /** HIT headers by ETag (bounded: re-prepared after a clear). */
  readonly #prepared = new Map<string, Prepared>()

  constructor(private readonly policies: PolicyTable) {}

  /**
   * Written to the socket directly, status and headers as one prepared list:
   * no reply hook runs on this route, and the access log and metrics hooks
   * run on 'finish' as for any reply. Errors never get here (the error
   * handler answers them, X-Request-Id included).
   */
  send(request: FastifyRequest, reply: FastifyReply, outcome: CacheOutcome): void {
    const headers = this.#headers(outcome)
    reply.hijack()
    // Not sent (the list is), but read by onResponse hooks: the access log names X-Cache.
    reply.header('x-cache', outcome.xCache)
    const res = reply.raw
    if (outcome.notModified) {
      // RFC 9110 §15.4.5: 304 carries the validators and Cache-Control/Vary the
      // 200 would have had, and no content (so no Content-Type/Length).
      res.writeHead(304, [...headers.notModified, 'x-request-id', request.id])
      res.end()
      return
    }
    res.writeHead(200, [...headers.ok, 'x-request-id', request.id])
    // RFC 9110 §9.3.2: HEAD gets the GET's headers, Content-Length included, and no content.
    if (request.method === 'HEAD') res.end()
    else res.end(outcome.body)
  }

  #headers(outcome: CacheOutcome): Prepared {
    if (outcome.xCache !== 'HIT') return this.#prepare(outcome)
    let prepared = this.#prepared.get(outcome.etag)
    // The body decides Content-Length: a 304 prepared first lacks it.
    if (!prepared || (outcome.body && !prepared.hasLength)) {
      prepared = this.#prepare(outcome)
      if (this.#prepared.size >= MAX_PREPARED) this.#prepared.clear()
      this.#prepared.set(outcome.etag, prepared)
    }
    return prepared
  }

  #prepare(outcome: CacheOutcome): Prepared {
    const notModified: Headers = {
      // RFC 9110 §8.8.3: a strong validator over the exact body bytes, computed once at store time.
      etag: outcome.etag,
      // RFC 9110 §8.8.2: when the body was generated.
      'last-modified': formatHttpDate(outcome.generatedAt),
      // RFC 9111 §5.2.2: the type's policy; `private` since the body depends on access.
      'cache-control': cacheControl(this.policies.get(outcome.kind)),
      // RFC 9110 §12.5.5: the body depends on who asks, i.e. on Authorization.
      vary: 'Authorization',
      'x-cache': outcome.xCache,
    }
    const ok: Headers = { ...notModified, 'content-type': JSON_TYPE }
    if (outcome.body) ok['content-length'] = String(outcome.body.length)
    return {
      ok: Object.entries(ok).flat(),
      notModified: Object.entries(notModified).flat(),
      hasLength: outcome.body !== undefined,
    }
  }
}
