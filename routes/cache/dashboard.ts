// GET /cache/dashboard: the cache dashboard page and its assets (public/dashboard
// and chart.js's browser build from node_modules: no CDN). The page holds no data
// and needs no token; its script calls the admin API with the token the operator
// pastes (or passes in the URL fragment, which browsers never send to the server).
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { NotFound } from '../../src/errors.js'

/** The folder holding package.json: the same from the sources and from dist/. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('dashboard: package.json not found above routes/cache')
    dir = parent
  }
  return dir
}

interface Asset {
  file: string
  type: string
}

const CHART_JS = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js')

// Only our own origin may run scripts, styles or be fetched; no framing (clickjacking).
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

export default async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const folder = join(packageRoot(), 'public', 'dashboard')
  const assets: Record<string, Asset> = {
    'dashboard.js': { file: join(folder, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
    'dashboard.css': { file: join(folder, 'dashboard.css'), type: 'text/css; charset=utf-8' },
    'chart.umd.min.js': { file: CHART_JS, type: 'text/javascript; charset=utf-8' },
  }
  // Read once at start: a missing file fails the boot, not a request.
  const page = await readFile(join(folder, 'index.html'))
  const bodies = new Map<string, Buffer>()
  for (const [name, asset] of Object.entries(assets)) bodies.set(name, await readFile(asset.file))

  app.get(
    '/dashboard',
    {
      schema: {
        tags: ['cache'],
        summary:
          'The cache dashboard: hit rate over time, by report type, cache size and backend status (HTML)',
        description:
          'The page itself needs no token and contains no data. Paste an admin token into it, or open ' +
          '`/cache/dashboard#token=<JWT>` (the fragment is never sent to the server, so it is never logged).',
        security: [],
        produces: ['text/html'],
      },
    },
    async (_request, reply) => {
      return reply
        .header('content-security-policy', CSP)
        .header('referrer-policy', 'no-referrer')
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .type('text/html; charset=utf-8')
        .send(page)
    },
  )

  app.get<{ Params: { asset: string } }>(
    '/dashboard/:asset',
    { schema: { hide: true } },
    async (request, reply) => {
      const name = request.params.asset
      const body = Object.hasOwn(assets, name) ? bodies.get(name) : undefined
      if (!body) throw new NotFound(name)
      return reply
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'public, max-age=3600')
        .type(assets[name].type)
        .send(body)
    },
  )
}
