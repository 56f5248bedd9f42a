// Builds an app for a test on a given database, closed in teardown.
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Role } from '../../db/database.js'
import { type App, buildApp } from '../../src/app.js'
import { mintToken } from '../../src/auth/token.js'
import { type Config, loadConfig } from '../../src/config.js'
import type { TestDatabase } from './database.js'

export const TEST_JWT_SECRET = 'test-secret-of-sufficient-length'

interface Teardown {
  teardown(fn: () => unknown): void
}

/** Config for tests: no env leakage except service URLs; a private Redis prefix. */
export function testConfig(db: TestDatabase, overrides: Partial<Config> = {}): Config {
  const base = loadConfig({})
  return {
    ...base,
    databaseUrl: db.databaseUrl,
    databaseSchema: db.schema,
    jwtSecret: TEST_JWT_SECRET,
    dataDir: mkdtempSync(join(tmpdir(), 'report-test-')),
    redisPrefix: `test:${randomBytes(5).toString('hex')}:`,
    logLevel: 'silent',
    ...overrides,
  }
}

export async function buildTestApp(
  t: Teardown,
  db: TestDatabase,
  overrides: Partial<Config> = {},
): Promise<App> {
  const app = await buildApp({ config: testConfig(db, overrides), db, logger: false })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

export function tokenFor(user: { id: number; tenant_id: number; role: Role }): string {
  return mintToken(TEST_JWT_SECRET, { sub: user.id, tid: user.tenant_id, role: user.role })
}

export function bearer(user: { id: number; tenant_id: number; role: Role }): { authorization: string } {
  return { authorization: `Bearer ${tokenFor(user)}` }
}
