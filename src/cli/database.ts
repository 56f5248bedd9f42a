// Opens the database the server would use (DATABASE_URL, else the embedded
// PGlite in DATA_DIR/pg). PGlite has no cross-process lock: a second process
// on the live folder of a running server could corrupt it. Its postmaster.pid
// exists exactly while some process has the folder open, so readers take a
// snapshot copy, and writers refuse.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type DatabaseHandle, openDatabase } from '../../db/connect.js'
import type { Config } from '../config.js'

export type AccessMode = 'read' | 'write'

export async function openConfiguredDatabase(config: Config, mode: AccessMode): Promise<DatabaseHandle> {
  if (config.databaseUrl) {
    return openDatabase({ databaseUrl: config.databaseUrl, schema: config.databaseSchema, poolSize: 2 })
  }
  const dataDir = join(config.dataDir, 'pg')
  const inUse = existsSync(join(dataDir, 'postmaster.pid'))
  if (mode === 'write') {
    if (inUse) {
      throw new Error(
        `the embedded database in ${dataDir} is open in another process (a running server?): stop it first, ` +
          `or delete ${join(dataDir, 'postmaster.pid')} if no process uses it`,
      )
    }
    return openDatabase({ dataDir })
  }
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    throw new Error(`no embedded database in ${dataDir} yet: run "npm start" or "npm run cli -- seed" first`)
  }
  if (!inUse) return openDatabase({ dataDir })
  const copy = mkdtempSync(join(tmpdir(), 'report-cli-'))
  try {
    cpSync(dataDir, copy, { recursive: true })
    rmSync(join(copy, 'postmaster.pid'), { force: true })
    const handle = await openDatabase({ dataDir: copy })
    return {
      ...handle,
      async close() {
        try {
          await handle.close()
        } finally {
          rmSync(copy, { recursive: true, force: true })
        }
      },
    }
  } catch (err) {
    rmSync(copy, { recursive: true, force: true })
    throw err
  }
}

/** Runs `fn` with an open database and always closes it (an open PGlite keeps the process alive). */
export async function withDatabase<T>(
  config: Config,
  mode: AccessMode,
  fn: (handle: DatabaseHandle) => Promise<T>,
): Promise<T> {
  const handle = await openConfiguredDatabase(config, mode)
  try {
    return await fn(handle)
  } finally {
    await handle.close()
  }
}
