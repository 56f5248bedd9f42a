// One error handler for the whole app: client errors keep their message and
// code; server errors are logged in full and answered without details. Errors
// the router raises before any route runs (bad percent-encoding, an overlong
// path segment) and unknown routes get the same shape, from the same catalogue.
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BadUrl, DatabaseUnavailable, InternalError, RouteNotFound, UriTooLong } from './errors.js'

// Node socket errors, and Postgres SQLSTATEs meaning "no usable connection":
// class 08 (connection exception), 57P01–57P03 (shutdown, cannot connect now),
// 53300 (too many connections).
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '53300',
])
const CONNECTION_MESSAGES =
  /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|not currently accepting connections|the database system is (starting up|shutting down)/i

/** Fastify's default router limit (maxParamLength), quoted in the 414's message. */
export const MAX_PARAM_LENGTH = 100

function isDatabaseDown(err: FastifyError): boolean {
  const code = (err as { code?: string }).code
  return (
    (code !== undefined && (CONNECTION_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) ||
    CONNECTION_MESSAGES.test(err.message)
  )
}

interface ErrorBody {
  statusCode: number
  error: string
  code: string
  message: string
}

function body(err: { statusCode?: number; code: string; message: string }): ErrorBody {
  const statusCode = err.statusCode ?? 500
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', code: err.code, message: err.message }
}

/** The error as clients see it: a catalogue (or Fastify client) error, or a generic 5xx. */
function shape(err: FastifyError, request: FastifyRequest): ErrorBody {
  if (err.validation) return body({ statusCode: 400, code: 'FST_ERR_VALIDATION', message: err.message })
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
  if (status < 500) return body({ statusCode: status, code: err.code ?? 'ERROR', message: err.message })
  if (err.code === 'DATABASE_UNAVAILABLE' || (status === 500 && isDatabaseDown(err))) {
    request.log.error({ err: { message: err.message, code: err.code } }, 'db.unavailable')
    return body(new DatabaseUnavailable())
  }
  request.log.error({ err }, 'request.failed')
  // Details of a server error stay in the log; the status (e.g. 503 while closing) is kept.
  const internal = new InternalError()
  return body({ statusCode: status, code: internal.code, message: internal.message })
}

function send(reply: FastifyReply, error: ErrorBody) {
  // Every error, those raised before any route hook (404, router errors) too, names its request.
  reply.header('x-request-id', reply.request.id)
  // RFC 9111 §5.2.2.5 (https://www.rfc-editor.org/rfc/rfc9111#section-5.2.2.5): an error is stored by no cache.
  reply.header('cache-control', 'no-store')
  reply.removeHeader('etag')
  reply.removeHeader('last-modified')
  // RFC 6750 §3 (https://www.rfc-editor.org/rfc/rfc6750#section-3): a 401 names the scheme.
  if (error.statusCode === 401) reply.header('www-authenticate', 'Bearer')
  return reply.status(error.statusCode).send(error)
}

/** Fastify's `frameworkErrors` option: router errors raised before any route or hook runs. */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const known =
    err.code === 'FST_ERR_BAD_URL'
      ? new BadUrl()
      : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new UriTooLong(MAX_PARAM_LENGTH)
        : err
  void send(reply, shape(known as FastifyError, request))
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => send(reply, shape(err, request)))

  app.setNotFoundHandler((request, reply) =>
    send(reply, body(new RouteNotFound(request.method, request.url.split('?')[0]))),
  )
}
