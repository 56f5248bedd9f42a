// Logger options of the app (pino through Fastify) and the access log: one
// line per request with what an operator asks about it (route, status, time,
// tenant, user, report, X-Cache), probes at debug, request ids taken from
// `x-request-id` when sane, and no secret in any line (headers, URL queries).
// Per request it costs little: an id from a counter, a request logger built
// only when something is logged, no line built that the level drops.
import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
  type onRequestHookHandler,
} from 'fastify'
import {
  type Bindings,
  type ChildLoggerOptions,
  type LoggerOptions,
  levels,
  type TransportSingleOptions,
} from 'pino'
import type { Principal } from './access/viewer.js'
import { stdoutIsTerminal } from './terminal.js'

/** RFC 9110 §5.5 visible ASCII, bounded: anything else is replaced by a generated id. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/

/** Query parameters whose values are secrets: `token`, `jwt`, or any name with token/secret/password/key. */
const SECRET_PARAM = /^(jwt|.*(token|secret|password|passwd|key).*)$/i

/** Routes polled by machines: logged at debug, so they don't drown the requests of people. */
const PROBES = new Set(['/health', '/metrics'])

/** The URL with the values of secret-looking query parameters replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  if (q < 0) return url
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=')
      const rawName = eq < 0 ? pair : pair.slice(0, eq)
      let name = rawName
      try {
        name = decodeURIComponent(rawName.replaceAll('+', ' '))
      } catch {
        // An undecodable name is checked as written.
      }
      return SECRET_PARAM.test(name) ? `${rawName}=[redacted]` : pair
    })
    .join('&')
  return `${url.slice(0, q)}?${query}`
}

// Generated ids are UUID-shaped (version 4 layout): 74 random bits drawn once per
// process (and again when the counter wraps) and a 48-bit counter, so ids are
// unique across processes without drawing randomness per request.
let idPrefix = ''
let idCounter = 0
const ID_COUNTER_LIMIT = 2 ** 48

function newIdPrefix(): void {
  const r = randomBytes(10).toString('hex')
  // xxxxxxxx-xxxx-4xxx-yxxx-: the version nibble 4 and a variant nibble 8-b.
  const variant = ((Number.parseInt(r[15], 16) & 0x3) | 0x8).toString(16)
  idPrefix = `${r.slice(0, 8)}-${r.slice(8, 12)}-4${r.slice(12, 15)}-${variant}${r.slice(16, 19)}-`
  idCounter = 0
}

export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  if (typeof given === 'string' && REQUEST_ID.test(given)) return given
  if (idPrefix === '' || idCounter >= ID_COUNTER_LIMIT) newIdPrefix()
  return idPrefix + (idCounter++).toString(16).padStart(12, '0')
}

/**
 * A request's logger, made by Fastify for every request: the pino child (with
 * the request id bound) is built on the first line logged, so a request that
 * logs nothing (a HIT at `info` and above) never builds one.
 */
class RequestLogger {
  #child: FastifyBaseLogger | undefined
  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}
  get #real(): FastifyBaseLogger {
    this.#child ??= this.parent.child(this.bindings, this.options)
    return this.#child
  }
  get level(): string {
    return this.#child?.level ?? this.options.level ?? this.parent.level
  }
  set level(level: string) {
    this.#real.level = level
  }
  fatal(...args: unknown[]): void {
    ;(this.#real.fatal as (...a: unknown[]) => void)(...args)
  }
  error(...args: unknown[]): void {
    ;(this.#real.error as (...a: unknown[]) => void)(...args)
  }
  warn(...args: unknown[]): void {
    ;(this.#real.warn as (...a: unknown[]) => void)(...args)
  }
  info(...args: unknown[]): void {
    ;(this.#real.info as (...a: unknown[]) => void)(...args)
  }
  debug(...args: unknown[]): void {
    ;(this.#real.debug as (...a: unknown[]) => void)(...args)
  }
  trace(...args: unknown[]): void {
    ;(this.#real.trace as (...a: unknown[]) => void)(...args)
  }
  silent(...args: unknown[]): void {
    ;(this.#real.silent as (...a: unknown[]) => void)(...args)
  }
  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real.child(bindings, options)
  }
}

function lazyChildLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new RequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger
}

interface SerializedError {
  type?: string
  message: string
  code?: string
  stack?: string
  cause?: { message: string; code?: string }
}

function codeOf(value: unknown): string | undefined {
  const code = (value as { code?: unknown } | null | undefined)?.code
  return typeof code === 'string' || typeof code === 'number' ? String(code) : undefined
}

/** Message and code always; type and stack for real errors; never `type: "Object"` for a plain one. */
export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) {
    const message = (err as { message?: unknown } | null)?.message
    const code = codeOf(err)
    return { message: typeof message === 'string' ? message : String(err), ...(code ? { code } : {}) }
  }
  const out: SerializedError = { type: err.name, message: err.message }
  const code = codeOf(err)
  if (code) out.code = code
  if (err.cause !== undefined) {
    const cause = serializeError(err.cause)
    out.cause = { message: cause.message, ...(cause.code ? { code: cause.code } : {}) }
  }
  if (err.stack) out.stack = err.stack
  return out
}

function prettyOnTty(): TransportSingleOptions | undefined {
  if (!stdoutIsTerminal) return undefined
  try {
    // A dev dependency: absent from the production image, which logs JSON.
    createRequire(import.meta.url).resolve('pino-pretty')
  } catch {
    return undefined
  }
  return { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }
}

// Typed as pino's (any value in): a log call may pass a plain object as `err`.
const SERIALIZERS: LoggerOptions['serializers'] = {
  err: serializeError,
  req: (req: { method: string; url: string; id?: string }) => ({
    method: req.method,
    url: redactUrl(req.url),
    id: req.id,
  }),
}

/** Fastify options for logging: pass them to Fastify() with the logger. */
export function loggingOptions(
  level: string,
): Pick<FastifyServerOptions, 'logger' | 'genReqId' | 'logController' | 'childLoggerFactory'> {
  const transport = prettyOnTty()
  return {
    logger: {
      level,
      ...(transport ? { transport } : {}),
      // Secrets never reach the logs.
      redact: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'],
      serializers: SERIALIZERS,
    },
    genReqId: requestId,
    childLoggerFactory: lazyChildLogger,
    // Our own access line below replaces Fastify's two lines per request.
    logController: new LogController({ disableRequestLogging: true }),
  }
}

function accessFields(request: FastifyRequest, reply: FastifyReply): Record<string, unknown> {
  const route = request.routeOptions.url
  // null before (or without) authentication.
  const principal = request.principal as Principal | null
  const params = request.params as Record<string, unknown> | undefined
  const xCache = reply.getHeader('x-cache')
  return {
    method: request.method,
    route: route ?? 'unmatched',
    url: redactUrl(request.url),
    status: reply.statusCode,
    duration_ms: Math.round(reply.elapsedTime * 100) / 100,
    tenant: principal?.tenantId,
    user: principal?.id,
    report: route?.startsWith('/reports/:id') ? params?.id : undefined,
    x_cache: typeof xCache === 'string' ? xCache : undefined,
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers in its own onRequest hook and sets `x-request-id` there (no hook runs before it). */
    answersInOnRequest?: boolean
  }
}

const returnRequestId: onRequestHookHandler = (request, reply, done) => {
  reply.header('x-request-id', request.id)
  done()
}

const INFO = levels.values.info

/**
 * Adds the access log line and the `x-request-id` response header: first hook
 * of every route (added per route, so a route that answers in its own onRequest
 * hook runs it first); errors, 404s included, get it from the error handler.
 */
export function installAccessLog(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.config?.answersInOnRequest === true) return
    const hooks =
      route.onRequest === undefined
        ? []
        : Array.isArray(route.onRequest)
          ? route.onRequest
          : [route.onRequest]
    if (hooks.includes(returnRequestId)) return
    route.onRequest = [returnRequestId, ...hooks]
  })
  app.addHook('onResponse', (request, reply, done) => {
    // Nothing is built for a line the level drops (the hot path runs this on every HIT).
    const enabled = levels.values[request.log.level]
    if (enabled > INFO) return done()
    const level = PROBES.has(request.routeOptions.url ?? '') ? 'debug' : 'info'
    if (enabled <= levels.values[level]) request.log[level](accessFields(request, reply), 'request')
    done()
  })
}
