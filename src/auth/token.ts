// HS256 JWTs for the CLI and tests. Verification in requests is @fastify/jwt's;
// minting is small enough not to need another dependency.
import { createHmac } from 'node:crypto'
import type { Role } from '../../db/database.js'

export interface TokenClaims {
  sub: string | number
  tid: number
  role: Role
}

const DEFAULT_TTL_SECONDS = 24 * 3600

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url')
}

export function mintToken(secret: string, claims: TokenClaims, ttlSeconds = DEFAULT_TTL_SECONDS): string {
  const now = Math.floor(Date.now() / 1000)
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
  const payload = base64url(JSON.stringify({ ...claims, iat: now, exp: now + ttlSeconds }))
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')
  return `${header}.${payload}.${signature}`
}
