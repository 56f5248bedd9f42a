// One error handler for the whole app: client errors keep their message and
// code; server errors are logged in full and answered without details.
import type { FastifyError, FastifyInstance } from 'fastify'

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

function isDatabaseDown(err: FastifyError): boolean {
  const code = (err as { code?: string }).code
  return (
    (code !== undefined && (CONNECTION_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) ||
    CONNECTION_MESSAGES.test(err.message)
  )
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    // RFC 9111 §5.2.2.5: an error must never be stored by any cache.
    reply.header('cache-control', 'no-store')
    reply.removeHeader('etag')
    reply.removeHeader('last-modified')
    if (err.validation) {
      return reply.status(400).send({
        statusCode: 400,
        error: 'Bad Request',
        code: 'FST_ERR_VALIDATION',
        message: err.message,
      })
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    if (status < 500) {
      if (status === 401) reply.header('www-authenticate', 'Bearer') // RFC 6750 §3
      return reply.status(status).send({
        statusCode: status,
        error: httpReason(status),
        code: err.code ?? 'ERROR',
        message: err.message,
      })
    }
    if (status === 500 && isDatabaseDown(err)) {
      request.log.error({ err: { message: err.message, code: err.code } }, 'db.unavailable')
      return reply.status(503).send({
        statusCode: 503,
        error: 'Service Unavailable',
        code: 'DATABASE_UNAVAILABLE',
        message: 'The database is unavailable, try again later',
      })
    }
    request.log.error({ err }, 'request.failed')
    const known = status === 503 && err.code === 'DATABASE_UNAVAILABLE'
    return reply.status(status).send({
      statusCode: status,
      error: httpReason(status),
      code: known ? err.code : 'INTERNAL_ERROR',
      message: known ? err.message : 'Internal Server Error',
    })
  })

  app.setNotFoundHandler((request, reply) => {
    reply.header('cache-control', 'no-store')
    return reply.status(404).send({
      statusCode: 404,
      error: 'Not Found',
      code: 'ROUTE_NOT_FOUND',
      message: `Route ${request.method} ${request.url.split('?')[0]} not found`,
    })
  })
}

function httpReason(status: number): string {
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    412: 'Precondition Failed',
    413: 'Payload Too Large',
    415: 'Unsupported Media Type',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
  }
  return reasons[status] ?? 'Error'
}
