// Provides request authentication (bearer JWT → request.principal) and the
// caller's access (request.viewer()), resolved once per request. The token
// only names a user: the user's record decides (docs/identity.md), so every
// authenticated request loads the access set, which 401s a token whose user is
// gone or whose role or tenant claim disagrees with the record. The report
// result route does the same check against its cached access set instead
// (`config.identityFromCache`), so a warm HIT still runs no query.
import jwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ROLES, type Role } from '../db/database.js'
import { loadViewer, type Principal, type Viewer } from '../src/access/viewer.js'
import { Unauthorized } from '../src/errors.js'

export interface AuthOptions {
  secret: string
}

/** Resolves a principal's access; the report cache replaces it with a cached one. */
export type ViewerResolver = (principal: Principal) => Promise<Viewer>

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route checks the caller's identity itself, against the cached access set. */
    identityFromCache?: boolean
  }
  interface FastifyInstance {
    /** onRequest hook for protected routes: 401 unless a valid bearer token is sent. */
    authenticate(request: FastifyRequest): Promise<void>
    /**
     * The principal of an Authorization header whose token was verified before
     * and has not expired (no HMAC, no allocation); undefined otherwise (then authenticate).
     */
    principalOf(authorization: string | undefined): Principal | undefined
    viewerResolver: ViewerResolver
  }
  interface FastifyRequest {
    principal: Principal
    /** The caller's access, loaded at most once per request. */
    viewer(): Promise<Viewer>
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string | number; tid: number | string; role: Role; exp?: number }
  }
}

const viewerMemo = Symbol('viewer')
const MAX_VERIFIED_TOKENS = 10_000

function principalFromClaims(claims: Record<string, unknown>): Principal | null {
  const id = Number(claims.sub)
  const tenantId = Number(claims.tid)
  const role = claims.role as Role
  if (!Number.isSafeInteger(id) || id <= 0) return null
  if (!Number.isSafeInteger(tenantId) || tenantId <= 0) return null
  if (!ROLES.includes(role)) return null
  if (typeof claims.exp !== 'number') return null
  return { id, tenantId, role }
}

async function auth(app: FastifyInstance, opts: AuthOptions): Promise<void> {
  if (!opts.secret) throw new Error('auth plugin: option "secret" is required')
  await app.register(jwt, { secret: opts.secret, verify: { algorithms: ['HS256'] } })

  app.decorate<ViewerResolver>('viewerResolver', (principal) => loadViewer(app.db, principal))
  app.decorateRequest('principal', null as unknown as Principal)
  app.decorateRequest(viewerMemo, null)
  app.decorateRequest('viewer', function (this: FastifyRequest) {
    const self = this as FastifyRequest & { [viewerMemo]: Promise<Viewer> | null }
    self[viewerMemo] ??= app.viewerResolver(self.principal)
    return self[viewerMemo]
  })

  // Tokens already verified, until they expire: a repeat request skips the
  // HMAC and the JSON decoding (a tenth of a cached report's CPU otherwise).
  // Bounded by clearing when full; a miss only costs one verification.
  // Keyed by the whole header value: the hit path looks it up without slicing.
  const verified = new Map<string, { principal: Principal; expiresAtMs: number }>()

  app.decorate('principalOf', (authorization: string | undefined): Principal | undefined => {
    if (authorization === undefined) return undefined
    const known = verified.get(authorization)
    return known && known.expiresAtMs > Date.now() ? known.principal : undefined
  })

  app.decorate('authenticate', async (request: FastifyRequest) => {
    const header = request.headers.authorization
    if (!header || !/^Bearer\s+\S+$/i.test(header)) {
      throw new Unauthorized('Missing bearer token in the Authorization header')
    }
    const known = verified.get(header)
    if (known && known.expiresAtMs > Date.now()) {
      request.principal = known.principal
      return checkIdentity(request)
    }
    let claims: Record<string, unknown>
    try {
      claims = await request.jwtVerify<Record<string, unknown>>()
    } catch {
      // RFC 6750 §3.1: invalid_token covers expired, malformed and badly signed tokens.
      throw new Unauthorized('Invalid or expired token')
    }
    const principal = principalFromClaims(claims)
    if (!principal) throw new Unauthorized('Token claims sub, tid, role and exp are required')
    if (verified.size >= MAX_VERIFIED_TOKENS) verified.clear()
    verified.set(header, { principal, expiresAtMs: (claims.exp as number) * 1000 })
    request.principal = principal
    await checkIdentity(request)
  })

  /** The record is authoritative: loading the access set 401s a token that disagrees with it. */
  async function checkIdentity(request: FastifyRequest): Promise<void> {
    if (request.routeOptions.config?.identityFromCache === true) return
    await request.viewer()
  }
}

export default fp(auth, { name: 'auth', dependencies: ['db'] })
