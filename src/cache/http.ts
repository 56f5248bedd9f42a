// Pure HTTP parsing and formatting: entity-tags, HTTP-dates, Cache-Control
// (RFC 9110, RFC 9111 / RFC 5861). No framework, no decisions: what a
// request's conditions mean is decided in conditional.ts.
import { createHash } from 'node:crypto'

/** RFC 9110 §8.8.3: entity-tag = [ weak ] opaque-tag; `opaque` keeps its quotes. */
export interface EntityTag {
  weak: boolean
  opaque: string
}

/** Parsed If-None-Match / If-Match: `*` or the valid entity-tags of the list. */
export type EntityTagCondition = '*' | EntityTag[]

/** A request header as Node gives it. */
export type HeaderValue = string | readonly string[] | undefined

/** RFC 9110 §5.3: several field lines of a list field combine with commas. */
export function joined(header: HeaderValue): string | undefined {
  if (header === undefined) return undefined
  // RFC 9110 §5.3: several field lines of a list field combine with commas.
  return typeof header === 'string' ? header : header.join(', ')
}

// RFC 9110 §8.8.3: etagc = %x21 / %x23-7E / obs-text (%x80-FF); commas are allowed inside.
function isEtagc(code: number): boolean {
  return code === 0x21 || (code >= 0x23 && code <= 0x7e) || (code >= 0x80 && code <= 0xff)
}

function isOws(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t'
}

/** Parses one entity-tag (`"x"` or `W/"x"`); undefined when invalid. */
export function parseEntityTag(value: string): EntityTag | undefined {
  const text = value.trim()
  // RFC 9110 §8.8.3: weak = %s"W/" — case-sensitive.
  const weak = text.startsWith('W/')
  const opaque = weak ? text.slice(2) : text
  if (opaque.length < 2 || opaque[0] !== '"' || opaque[opaque.length - 1] !== '"') return undefined
  for (let i = 1; i < opaque.length - 1; i++) if (!isEtagc(opaque.charCodeAt(i))) return undefined
  return { weak, opaque }
}

/**
 * Parses `"*" / #entity-tag` (RFC 9110 §13.1.1, §13.1.2) with a scanner, since
 * opaque tags may contain commas. Invalid members are skipped (they can match
 * nothing); `*` counts only when it is the sole member. Undefined when absent.
 */
export function parseEntityTagList(header: HeaderValue): EntityTagCondition | undefined {
  const s = joined(header)
  if (s === undefined) return undefined
  const tags: EntityTag[] = []
  let stars = 0
  let members = 0
  let i = 0
  while (i < s.length) {
    while (i < s.length && (isOws(s[i]) || s[i] === ',')) i++
    if (i >= s.length) break
    members++
    let member: EntityTag | '*' | undefined
    let end = i
    if (s[i] === '*') {
      member = '*'
      end = i + 1
    } else {
      const weak = s.startsWith('W/', i)
      const open = weak ? i + 2 : i
      end = open
      if (s[open] === '"') {
        const close = s.indexOf('"', open + 1)
        end = close === -1 ? s.length : close + 1
        if (close !== -1) member = parseEntityTag(s.slice(i, end))
      }
    }
    // A member ends at OWS then a comma or the end; anything else makes it invalid.
    let j = end
    while (j < s.length && isOws(s[j])) j++
    if (j < s.length && s[j] !== ',') {
      member = undefined
      const comma = s.indexOf(',', j)
      j = comma === -1 ? s.length : comma
    }
    if (member === '*') stars++
    else if (member) tags.push(member)
    i = j
  }
  if (stars === 1 && members === 1) return '*'
  return tags
}

/** RFC 9110 §8.8.3.2: strong comparison — both strong and identical opaque tags. */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque
}

/** RFC 9110 §8.8.3.2: weak comparison — identical opaque tags, weakness ignored. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque
}

/**
 * RFC 9110 §13.1.2: true when If-None-Match matches the current ETag (its condition
 * is false: a GET/HEAD gets 304). `*` matches any current representation. Weak comparison.
 */
export function matchesIfNoneMatch(header: HeaderValue, etag: string | undefined): boolean {
  const condition = parseEntityTagList(header)
  if (condition === undefined || etag === undefined) return false
  if (condition === '*') return true
  const current = parseEntityTag(etag)
  return current !== undefined && condition.some((tag) => weakMatch(tag, current))
}

/**
 * RFC 9110 §13.1.1: whether an If-Match precondition passes (absent: it does).
 * Strong comparison; `*` passes only when a current representation exists.
 */
export function passesIfMatch(header: HeaderValue, etag: string | undefined): boolean {
  const condition = parseEntityTagList(header)
  if (condition === undefined) return true
  if (etag === undefined) return false
  if (condition === '*') return true
  const current = parseEntityTag(etag)
  return current !== undefined && condition.some((tag) => strongMatch(tag, current))
}

/**
 * If-None-Match as the cache store compares it: `*` or the opaque tags (quotes kept).
 * RFC 9110 §13.1.2 uses weak comparison, so `W/` is dropped. Undefined when absent
 * or when it names no valid tag.
 */
export function ifNoneMatchForStore(header: HeaderValue): readonly string[] | '*' | undefined {
  const condition = parseEntityTagList(header)
  if (condition === undefined) return undefined
  if (condition === '*') return '*'
  return condition.length === 0 ? undefined : condition.map((tag) => tag.opaque)
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})'
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`)
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`)
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`)

function utc(year: number, month: string, day: number, h: string, m: string, s: string): number | undefined {
  const hours = Number(h)
  const minutes = Number(m)
  const seconds = Number(s)
  if (hours > 23 || minutes > 59 || seconds > 60) return undefined
  const ms = Date.UTC(year, MONTHS.indexOf(month), day, hours, minutes, Math.min(seconds, 59))
  // Reject dates that roll over (e.g. 31 Feb).
  return new Date(ms).getUTCDate() === day ? ms : undefined
}

/**
 * RFC 9110 §5.6.7: parses an HTTP-date in any of its three formats (recipients must
 * accept IMF-fixdate, rfc850-date and asctime-date). Returns ms since the epoch.
 */
export function parseHttpDate(value: string, now: number = Date.now()): number | undefined {
  const text = value.trim()
  let m = IMF_FIXDATE.exec(text)
  if (m) return utc(Number(m[3]), m[2], Number(m[1]), m[4], m[5], m[6])
  m = RFC850.exec(text)
  if (m) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past century.
    const thisYear = new Date(now).getUTCFullYear()
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3])
    if (year > thisYear + 50) year -= 100
    return utc(year, m[2], Number(m[1]), m[4], m[5], m[6])
  }
  m = ASCTIME.exec(text)
  if (m) return utc(Number(m[6]), m[1], Number(m[2].trim()), m[3], m[4], m[5])
  return undefined
}

const formattedDates = new Map<number, string>()

/** RFC 9110 §5.6.7: IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. */
export function formatHttpDate(ms: number): string {
  // Memoised per second: every HIT of an entry formats the same Last-Modified.
  const second = Math.floor(ms / 1000)
  let text = formattedDates.get(second)
  if (text === undefined) {
    text = new Date(second * 1000).toUTCString()
    if (formattedDates.size >= 4096) formattedDates.clear()
    formattedDates.set(second, text)
  }
  return text
}

export interface ClientCachePolicy {
  /** Seconds a client may reuse the response without revalidating. */
  maxAge: number
  /** Seconds a client may keep using it while revalidating in the background (RFC 5861). */
  staleWhileRevalidate?: number
}

/**
 * Cache-Control for a per-viewer response (RFC 9111 §5.2.2.7 `private`: shared caches
 * must not store it). max-age=0 adds must-revalidate (§5.2.2.2) so a stale copy is
 * never used without a 304 from us.
 */
export function cacheControl(policy: ClientCachePolicy): string {
  const maxAge = Math.max(0, Math.floor(policy.maxAge))
  if (maxAge === 0) return 'private, max-age=0, must-revalidate'
  const swr = Math.max(0, Math.floor(policy.staleWhileRevalidate ?? 0))
  return swr > 0 ? `private, max-age=${maxAge}, stale-while-revalidate=${swr}` : `private, max-age=${maxAge}`
}

/** Strong ETag of exact body bytes: a quoted sha256 prefix (RFC 9110 §8.8.3, 144 bits). */
export function strongEtag(body: Uint8Array): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 24)}"`
}
