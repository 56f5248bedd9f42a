// Configuration errors at start: a misspelt report type in CACHE_POLICY is
// refused like a misspelt field, naming it and the known types.
import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('CACHE_POLICY names only known report types', async (t) => {
  t.throws(
    () => loadConfig({ CACHE_POLICY: '{"analytic": {"ttl": 60}}' }),
    new ConfigError(
      'CACHE_POLICY',
      '.analytic is not a report type (expected student_progress, grade_distribution, analytics, custom, default)',
    ),
  )
  t.throws(
    () => loadConfig({ CACHE_POLICY: '{"analytics": {"tll": 60}}' }),
    /\.analytics\.tll is not a policy field/,
  )
  const ok = loadConfig({ CACHE_POLICY: '{"analytics": {"ttl": 60}, "default": {"maxAge": 5}}' })
  t.same(ok.cachePolicy, { analytics: { ttl: 60 }, default: { maxAge: 5 } })
})
