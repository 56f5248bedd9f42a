// The README stands alone in a clone: links stay inside the repository, and it
// gives the demo logins, a conditional request and the production start.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')

t.test('links resolve inside the repository', async (t) => {
  t.notMatch(readme, /\.\.\//, 'nothing outside the repository (no ../shared)')
  const links = [...readme.matchAll(/\]\(([^)#]+)(?:#[^)]*)?\)/g)]
    .map((m) => m[1])
    .filter((l) => !/^https?:/.test(l))
  t.ok(links.includes('docs/API.md'), 'links the contract in docs/')
  for (const link of links) t.ok(existsSync(join(ROOT, link)), `${link} exists`)
})

t.test('demo logins, a conditional request, the production start', async (t) => {
  for (const email of ['admin', 'teacher', 'student', 'parent', 'tutor'].map((r) => `${r}@demo.test`)) {
    t.match(readme, `\`${email}\``, email)
  }
  const seedPlan = readFileSync(join(ROOT, 'db/seed/plan.ts'), 'utf8')
  t.match(
    seedPlan,
    /teacher@<domain>, student@<domain>, parent@<domain>, tutor@<domain>/,
    'the seed makes them',
  )
  t.match(readme, /If-None-Match: \$ETAG/, 'an If-None-Match example')
  t.match(readme, /npm run start:prod/, 'the production start')
  t.match(readme, /npm ci && npm start/, 'the two commands')
})
