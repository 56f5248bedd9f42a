// GET/HEAD /reports/:id (registered with prefix /reports): the report
// computed now with the given filters, from the cache when it can.
//
// A HIT or its 304 is answered in this route's onRequest hook, the first hook
// it runs (the route is outside the definition routes' authenticate hook and
// adds no other): the principal from the verified-token memo, the filters
// validated once per distinct URL, one store read that confirms the entry, the
// definition and the caller's access set together (identity and access are
// checked on every request), headers prepared once per entry. No promise on
// the memory store. Anything else (a token not seen before, a miss, a change,
// bad input, an error) continues through authentication, the input guard,
// schema validation and the handler: the full read (src/reports/report-reader.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import { Type } from 'typebox'
import type { HitAnswer } from '../../src/cache/cache.js'
import { MAX_INT4 } from '../../src/input-schemas.js'
import { FiltersQuerySchema } from '../../src/reports/filters.js'
import { errors, IdParams, ResultSchema, resultHeaders } from './schemas.js'
import { ReportResponder } from './send-report.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The hit path found the store unavailable: the full read does not wait on it again. */
    reportStoreFailed?: boolean
  }
}

/** Canonical decimal, as UrlId (src/input-schemas.ts) accepts; anything else goes to validation. */
const CANONICAL_ID = /^[1-9][0-9]{0,9}$/

const resultRoute: FastifyPluginAsyncTypebox = async (app) => {
  const responder = new ReportResponder(app.cachePolicy)
  app.decorateRequest('reportStoreFailed', false)

  function settle(request: FastifyRequest, reply: FastifyReply, answer: HitAnswer, done: () => void): void {
    if (answer === undefined) done()
    else if (answer === 'unavailable') {
      request.reportStoreFailed = true
      done()
    } else responder.send(request, reply, answer)
  }

  const answerHit: onRequestHookHandler = (request, reply, done) => {
    const principal = app.principalOf(request.headers.authorization)
    // A token not verified before: the full authentication (its 401s included).
    if (principal === undefined) {
      app.authenticate(request).then(() => done(), done)
      return
    }
    request.principal = principal
    const id = (request.params as { id: string }).id
    if (!CANONICAL_ID.test(id) || Number(id) > MAX_INT4) return done()
    const url = request.raw.url ?? ''
    const q = url.indexOf('?')
    const answer = app.reportReader.readHit({
      principal,
      reportId: Number(id),
      rawQuery: q < 0 ? '' : url.slice(q + 1),
      query: request.query as Record<string, unknown>,
      ifNoneMatch: request.headers['if-none-match'],
      ifModifiedSince: request.headers['if-modified-since'],
    })
    if (answer instanceof Promise) {
      answer.then((a) => settle(request, reply, a, done), done)
      return
    }
    settle(request, reply, answer, done)
  }

  // GET and HEAD declared together (no automatic HEAD route, whose onSend would
  // add `Content-Length: 0` to a HEAD 304, RFC 9110 §8.6); `reportCache` keeps
  // plugins/http-cache.ts off these responses.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/:id',
    exposeHeadRoute: false,
    // The reader checks identity against the cached access set (no query on a HIT).
    config: { reportCache: true, identityFromCache: true, answersInOnRequest: true },
    onRequest: answerHit,
    schema: {
      tags: ['reports'],
      summary: 'The report computed now, with the given filters (HEAD: same headers, no body)',
      description:
        'Conditional (RFC 9110 §13): If-None-Match (a list, weak comparison, or *) takes precedence over ' +
        'If-Modified-Since; a match gives 304 with the headers the 200 would have had. Authentication ' +
        'and access are checked first.',
      params: IdParams,
      querystring: FiltersQuerySchema,
      response: {
        200: Type.Object(ResultSchema.properties, { headers: resultHeaders }),
        304: Type.Null({ description: 'Not Modified: no content', headers: resultHeaders }),
        ...errors,
      },
    },
    handler: async (request, reply) => {
      const outcome = await app.reportReader.read({
        principal: request.principal,
        reportId: request.params.id,
        query: request.query,
        ifNoneMatch: request.headers['if-none-match'],
        ifModifiedSince: request.headers['if-modified-since'],
        storeFailed: request.reportStoreFailed,
      })
      responder.send(request, reply, outcome)
      return reply
    },
  })
}

export default resultRoute
