// The JWT secret: JWT_SECRET, or one generated once and kept in the data
// folder so that the server and the CLI agree without configuration.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const SECRET_FILE = 'jwt-secret'

export function resolveJwtSecret(jwtSecret: string | undefined, dataDir: string): string {
  if (jwtSecret) return jwtSecret
  const file = join(dataDir, SECRET_FILE)
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    mkdirSync(dataDir, { recursive: true })
    const secret = randomBytes(32).toString('base64url')
    // 'wx' fails if another process created it meanwhile; then read theirs.
    try {
      writeFileSync(file, secret, { flag: 'wx', mode: 0o600 })
      return secret
    } catch {
      return readFileSync(file, 'utf8').trim()
    }
  }
}
