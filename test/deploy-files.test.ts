// The Docker files, checked by reading (no engine runs here): compose keeps
// the unauthenticated /metrics and /health off public interfaces, and the
// image carries production dependencies only (no tsx, esbuild, test tools).
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse } from 'yaml'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')

t.test('compose publishes nothing on public interfaces', async (t) => {
  const compose = parse(read('docker-compose.yml')) as {
    services: Record<string, { ports?: Array<string | { host_ip?: string; published?: string }> }>
  }
  const published = Object.entries(compose.services).flatMap(([name, s]) =>
    (s.ports ?? []).map((p) => ({ name, p })),
  )
  t.ok(
    published.some(({ name }) => name === 'app'),
    'the app is published (to the host)',
  )
  for (const { name, p } of published) {
    const hostIp =
      typeof p === 'string' ? (p.split(':').length === 3 ? p.split(':')[0] : '') : (p.host_ip ?? '')
    t.equal(hostIp, '127.0.0.1', `${name} ${JSON.stringify(p)}: bound to loopback only`)
  }
})

t.test('the image runs the compiled server with production dependencies only', async (t) => {
  const dockerfile = read('Dockerfile')
  const stages = dockerfile.split(/^FROM /m)
  const runtime = stages.at(-1) ?? ''
  t.match(dockerfile, /npm prune --omit=dev/, 'dev dependencies pruned after the build')
  t.match(runtime, /COPY --from=build \/app\/node_modules/, 'the runtime takes the pruned node_modules')
  t.match(runtime, /^CMD \["node", "dist\/src\/server\.js"\]$/m, 'exec form, node as PID 1, no npm or tsx')
  t.notMatch(runtime, /tsx|npm (ci|install)/, 'nothing installed or run through tsx in the runtime stage')

  const pkg = JSON.parse(read('package.json')) as {
    dependencies: Record<string, string>
    scripts: Record<string, string>
  }
  for (const dev of ['tsx', 'esbuild', 'pino-pretty', 'tap', 'typescript', 'playwright-core']) {
    t.notOk(dev in pkg.dependencies, `${dev} is not a production dependency`)
  }
  t.equal(pkg.scripts['start:prod'], 'exec node dist/src/server.js', 'the same command as the image')
  // What `npm prune --omit=dev` keeps: the production tree, transitive dependencies included.
  const ls = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' })
  const names = ls.stdout.split('\n').map((path) => path.split('node_modules/').at(-1) ?? '')
  t.ok(names.includes('fastify'), 'the production tree is listed')
  for (const dev of ['tsx', 'esbuild', 'pino-pretty']) {
    t.notOk(names.includes(dev), `${dev} is not in the production tree`)
  }
})
