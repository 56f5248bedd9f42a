import t from 'tap'
import { evaluatePreconditions, notModifiedSince } from '../../src/cache/conditional.js'
import {
  cacheControl,
  formatHttpDate,
  ifNoneMatchForStore,
  matchesIfNoneMatch,
  parseEntityTag,
  parseEntityTagList,
  parseHttpDate,
  passesIfMatch,
  strongEtag,
  strongMatch,
  weakMatch,
} from '../../src/cache/http.js'

t.test('entity-tags', async (t) => {
  t.same(parseEntityTag('"abc"'), { weak: false, opaque: '"abc"' })
  t.same(parseEntityTag('W/"abc"'), { weak: true, opaque: '"abc"' })
  t.same(parseEntityTag('""'), { weak: false, opaque: '""' }, 'an empty opaque tag is valid')
  t.equal(parseEntityTag('abc'), undefined, 'quotes are required')
  t.equal(parseEntityTag('w/"abc"'), undefined, 'W/ is case-sensitive')
  t.equal(parseEntityTag('"a"b"'), undefined, 'no quote inside')
  t.equal(parseEntityTag('"a b"'), undefined, 'no space inside')
  // RFC 9110 §8.8.3.2 comparison table.
  const w1 = { weak: true, opaque: '"1"' }
  const w2 = { weak: true, opaque: '"2"' }
  const s1 = { weak: false, opaque: '"1"' }
  t.notOk(strongMatch(w1, w1))
  t.ok(weakMatch(w1, w1))
  t.notOk(strongMatch(w1, w2))
  t.notOk(weakMatch(w1, w2))
  t.notOk(strongMatch(w1, s1))
  t.ok(weakMatch(w1, s1))
  t.ok(strongMatch(s1, s1))
  t.ok(weakMatch(s1, s1))
})

t.test('If-None-Match / If-Match lists', async (t) => {
  t.equal(parseEntityTagList(undefined), undefined)
  t.equal(parseEntityTagList('*'), '*')
  t.equal(parseEntityTagList(' * '), '*')
  t.same(parseEntityTagList('"a", W/"b",,"c"'), [
    { weak: false, opaque: '"a"' },
    { weak: true, opaque: '"b"' },
    { weak: false, opaque: '"c"' },
  ])
  t.same(
    parseEntityTagList('"a,b", "c"'),
    [
      { weak: false, opaque: '"a,b"' },
      { weak: false, opaque: '"c"' },
    ],
    'a comma inside an opaque tag does not split it',
  )
  t.same(
    parseEntityTagList(['"a"', 'W/"b"']),
    [
      { weak: false, opaque: '"a"' },
      { weak: true, opaque: '"b"' },
    ],
    'several field lines combine',
  )
  t.same(
    parseEntityTagList('"a" junk, "b", bare, "unterminated'),
    [{ weak: false, opaque: '"b"' }],
    'invalid members are skipped',
  )
  t.same(parseEntityTagList('*, "a"'), [{ weak: false, opaque: '"a"' }], '* only counts alone')
  t.same(parseEntityTagList(''), [])

  const etag = '"xyz"'
  t.ok(matchesIfNoneMatch('"xyz"', etag))
  t.ok(matchesIfNoneMatch('W/"xyz"', etag), 'weak comparison (RFC 9110 §13.1.2)')
  t.ok(matchesIfNoneMatch('"a", "xyz"', etag))
  t.ok(matchesIfNoneMatch('*', etag))
  t.notOk(matchesIfNoneMatch('*', undefined), '* needs a current representation')
  t.notOk(matchesIfNoneMatch('"xy"', etag))
  t.notOk(matchesIfNoneMatch('xyz', etag))
  t.notOk(matchesIfNoneMatch(undefined, etag))

  t.ok(passesIfMatch(undefined, etag), 'absent: no precondition')
  t.ok(passesIfMatch('"xyz"', etag))
  t.notOk(passesIfMatch('W/"xyz"', etag), 'strong comparison (RFC 9110 §13.1.1)')
  t.ok(passesIfMatch('*', etag))
  t.notOk(passesIfMatch('*', undefined))
  t.notOk(passesIfMatch('"other"', etag))

  t.same(ifNoneMatchForStore('W/"a", "b"'), ['"a"', '"b"'], 'opaque tags for the store, W/ dropped')
  t.equal(ifNoneMatchForStore('*'), '*')
  t.equal(ifNoneMatchForStore('garbage'), undefined)
  t.equal(ifNoneMatchForStore(undefined), undefined)
})

t.test('HTTP dates', async (t) => {
  const ms = Date.UTC(1994, 10, 6, 8, 49, 37)
  t.equal(formatHttpDate(ms), 'Sun, 06 Nov 1994 08:49:37 GMT')
  t.equal(formatHttpDate(ms + 999), 'Sun, 06 Nov 1994 08:49:37 GMT', 'one-second resolution')
  t.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), ms, 'IMF-fixdate')
  t.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2025, 0, 1)), ms, 'rfc850-date')
  t.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), ms, 'asctime-date')
  const in2025 = Date.UTC(2025, 0, 1)
  t.equal(
    parseHttpDate('Tuesday, 01-Jan-80 00:00:00 GMT', in2025),
    Date.UTC(1980, 0, 1),
    'a two-digit year more than 50 years ahead is in the past',
  )
  t.equal(
    parseHttpDate('Tuesday, 01-Jan-70 00:00:00 GMT', in2025),
    Date.UTC(2070, 0, 1),
    'else in the future',
  )
  t.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 UTC'), undefined)
  t.equal(parseHttpDate('Sun, 31 Feb 1994 08:49:37 GMT'), undefined, 'no rolled-over dates')
  t.equal(parseHttpDate('1994-11-06T08:49:37Z'), undefined)
  t.equal(parseHttpDate('Sun, 06 Nov 1994 25:49:37 GMT'), undefined)
})

t.test('If-Modified-Since', async (t) => {
  const modified = Date.UTC(2024, 0, 10, 12, 0, 0, 500)
  t.ok(notModifiedSince('Wed, 10 Jan 2024 12:00:00 GMT', modified), 'same second: not modified')
  t.ok(notModifiedSince('Wed, 10 Jan 2024 13:00:00 GMT', modified))
  t.notOk(notModifiedSince('Wed, 10 Jan 2024 11:59:59 GMT', modified))
  t.notOk(notModifiedSince('not a date', modified), 'invalid dates are ignored')
  t.notOk(
    notModifiedSince('Wed, 10 Jan 2024 13:00:00 GMT, Wed, 10 Jan 2024 13:00:00 GMT', modified),
    'more than one member is ignored',
  )
  t.notOk(notModifiedSince('Wed, 10 Jan 2024 13:00:00 GMT', modified, 'POST'), 'only GET and HEAD')
  t.notOk(notModifiedSince(undefined, modified))
  t.notOk(notModifiedSince('Wed, 10 Jan 2024 13:00:00 GMT', undefined))
})

t.test('precondition order (RFC 9110 §13.2.2)', async (t) => {
  const etag = '"v2"'
  const lastModified = Date.UTC(2024, 0, 10)
  const later = 'Thu, 11 Jan 2024 00:00:00 GMT'
  const earlier = 'Tue, 09 Jan 2024 00:00:00 GMT'
  t.equal(evaluatePreconditions({ method: 'GET', etag, lastModified }), 'proceed')
  t.equal(evaluatePreconditions({ method: 'GET', ifNoneMatch: '"v2"', etag }), 'not-modified')
  t.equal(evaluatePreconditions({ method: 'HEAD', ifNoneMatch: 'W/"v2"', etag }), 'not-modified')
  t.equal(
    evaluatePreconditions({ method: 'GET', ifNoneMatch: '"v1"', ifModifiedSince: later, etag, lastModified }),
    'proceed',
    'If-None-Match present: If-Modified-Since is ignored',
  )
  t.equal(
    evaluatePreconditions({
      method: 'GET',
      ifNoneMatch: 'garbage',
      ifModifiedSince: later,
      etag,
      lastModified,
    }),
    'proceed',
    'even an unparsable If-None-Match takes precedence',
  )
  t.equal(
    evaluatePreconditions({ method: 'GET', ifModifiedSince: later, etag, lastModified }),
    'not-modified',
  )
  t.equal(evaluatePreconditions({ method: 'GET', ifModifiedSince: earlier, etag, lastModified }), 'proceed')
  t.equal(
    evaluatePreconditions({ method: 'PATCH', ifNoneMatch: '*', etag }),
    'precondition-failed',
    'unsafe methods get 412 on a false If-None-Match',
  )
  t.equal(evaluatePreconditions({ method: 'PATCH', ifMatch: '"v1"', etag }), 'precondition-failed')
  t.equal(evaluatePreconditions({ method: 'PATCH', ifMatch: 'W/"v2"', etag }), 'precondition-failed')
  t.equal(evaluatePreconditions({ method: 'PATCH', ifMatch: '"v2"', etag }), 'proceed')
  t.equal(
    evaluatePreconditions({ method: 'DELETE', ifMatch: '*' }),
    'precondition-failed',
    'nothing to match',
  )
  t.equal(
    evaluatePreconditions({ method: 'PATCH', ifUnmodifiedSince: earlier, etag, lastModified }),
    'precondition-failed',
  )
  t.equal(
    evaluatePreconditions({
      method: 'PATCH',
      ifMatch: '"v2"',
      ifUnmodifiedSince: earlier,
      etag,
      lastModified,
    }),
    'proceed',
    'If-Match present: If-Unmodified-Since is ignored',
  )
})

t.test('Cache-Control and ETag', async (t) => {
  t.equal(cacheControl({ maxAge: 0 }), 'private, max-age=0, must-revalidate')
  t.equal(cacheControl({ maxAge: 0, staleWhileRevalidate: 30 }), 'private, max-age=0, must-revalidate')
  t.equal(
    cacheControl({ maxAge: 60, staleWhileRevalidate: 30 }),
    'private, max-age=60, stale-while-revalidate=30',
  )
  t.equal(cacheControl({ maxAge: 60 }), 'private, max-age=60')
  const etag = strongEtag(Buffer.from('{"a":1}'))
  t.match(etag, /^"[A-Za-z0-9_-]{24}"$/)
  t.equal(strongEtag(Buffer.from('{"a":1}')), etag, 'same bytes, same tag')
  t.not(strongEtag(Buffer.from('{"a":2}')), etag)
  t.same(parseEntityTag(etag), { weak: false, opaque: etag }, 'a valid strong entity-tag')
})
