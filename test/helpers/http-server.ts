// A listening app for tests with real HTTP clients (undici, a browser), with a
// server-side log of every response: what arrived conditional and what was sent.
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { type App, buildApp } from '../../src/app.js'
import type { Config } from '../../src/config.js'
import { testConfig } from './app.js'
import type { TestDatabase } from './database.js'

export interface Seen {
  method: string
  url: string
  ifNoneMatch: string | undefined
  authorization: boolean
  status: number
  xCache: string | undefined
}

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface ListeningApp {
  app: App
  origin: string
  /** Every response sent, in order. */
  seen: Seen[]
}

/**
 * Builds the app, lets `extend` add routes or hooks before it is ready, and
 * listens on 127.0.0.1 on a free port. Closed in teardown.
 */
export async function listenTestApp(
  t: Teardown,
  db: TestDatabase,
  overrides: Partial<Config> = {},
  extend?: (app: FastifyInstance) => void | Promise<void>,
): Promise<ListeningApp> {
  const app = await buildApp({ config: testConfig(db, overrides), db, logger: false })
  t.teardown(() => app.close())
  const seen: Seen[] = []
  app.addHook('onResponse', async (request, reply) => {
    const inm = request.headers['if-none-match']
    seen.push({
      method: request.method,
      url: request.url,
      ifNoneMatch: inm,
      authorization: request.headers.authorization !== undefined,
      status: reply.statusCode,
      xCache: reply.getHeader('x-cache') as string | undefined,
    })
  })
  await extend?.(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  return { app, origin: `http://127.0.0.1:${port}`, seen }
}
