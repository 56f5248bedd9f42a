// Conditional requests (RFC 9110 §13): every decision in one module, used by
// every route. Parsing lives in http.ts; this file says what a request's
// preconditions mean for a representation (its ETag and Last-Modified).
// The Redis GET script only matches opaque tags, as `ifNoneMatch` below gives
// them, so that a 304 leaves the body where it is.
import {
  type HeaderValue,
  ifNoneMatchForStore,
  joined,
  matchesIfNoneMatch,
  parseHttpDate,
  passesIfMatch,
} from './http.js'
import { ifNoneMatchHits } from './store.js'

/** A GET/HEAD's validators, parsed once (see storeConditions). */
export interface Conditions {
  /** If-None-Match as the store compares it: opaque tags (weak comparison) or `*`. */
  readonly ifNoneMatch: readonly string[] | '*' | undefined
  /** If-None-Match was sent (even with no valid tag): If-Modified-Since is then ignored. */
  readonly ifNoneMatchSent: boolean
  /** If-Modified-Since, ms; undefined when absent or not a valid HTTP-date. */
  readonly ifModifiedSince: number | undefined
}

const NONE: Conditions = Object.freeze({
  ifNoneMatch: undefined,
  ifNoneMatchSent: false,
  ifModifiedSince: undefined,
})
const MAX_MEMO = 10_000
// Few distinct header values recur (the ETags of current entries): parse each once.
const inmMemo = new Map<string, readonly string[] | '*' | undefined>()
const imsMemo = new Map<string, number | undefined>()

function memo<V>(map: Map<string, V>, key: string, parse: (key: string) => V): V {
  if (map.has(key)) return map.get(key) as V
  const value = parse(key)
  if (map.size >= MAX_MEMO) map.clear()
  map.set(key, value)
  return value
}

/** The conditions of a GET/HEAD from its raw If-None-Match and If-Modified-Since. */
export function storeConditions(ifNoneMatch: HeaderValue, ifModifiedSince: HeaderValue): Conditions {
  if (ifNoneMatch === undefined && ifModifiedSince === undefined) return NONE
  const inm = typeof ifNoneMatch === 'string' ? ifNoneMatch : joined(ifNoneMatch)
  const ims = typeof ifModifiedSince === 'string' ? ifModifiedSince : joined(ifModifiedSince)
  return {
    ifNoneMatch: inm === undefined ? undefined : memo(inmMemo, inm, ifNoneMatchForStore),
    ifNoneMatchSent: inm !== undefined,
    // RFC 9110 §13.1.3: only a valid HTTP-date counts (HTTP-date has one-second resolution).
    ifModifiedSince: ims === undefined ? undefined : memo(imsMemo, ims, (text) => parseHttpDate(text)),
  }
}

/**
 * RFC 9110 §13.2.2 (https://www.rfc-editor.org/rfc/rfc9110#section-13.2.2) steps 3-4 for
 * GET/HEAD: If-None-Match decides when sent (weak comparison, §13.1.2); otherwise
 * If-Modified-Since (§13.1.3), at one-second resolution (§8.8.2.2).
 */
export function isNotModified(c: Conditions, etag: string, lastModified: number): boolean {
  if (c.ifNoneMatchSent) return ifNoneMatchHits(c.ifNoneMatch, etag)
  if (c.ifModifiedSince === undefined) return false
  return Math.floor(lastModified / 1000) <= Math.floor(c.ifModifiedSince / 1000)
}

/**
 * RFC 9110 §13.1.3: true when the representation was not modified since the
 * If-Modified-Since date (one-second resolution). The header is ignored (false)
 * when absent, not a single valid HTTP-date, or the method is not GET/HEAD.
 * Only for a request without If-None-Match (§13.2.2).
 */
export function notModifiedSince(
  header: HeaderValue,
  lastModified: number | undefined,
  method = 'GET',
): boolean {
  if (lastModified === undefined || (method !== 'GET' && method !== 'HEAD')) return false
  return isNotModified(storeConditions(undefined, header), '', lastModified)
}

export interface PreconditionInput {
  method: string
  ifMatch?: HeaderValue
  ifNoneMatch?: HeaderValue
  ifModifiedSince?: HeaderValue
  ifUnmodifiedSince?: HeaderValue
  /** Current ETag, undefined when there is no current representation. */
  etag?: string
  /** Last modification time (ms), when known. */
  lastModified?: number
}

export type PreconditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed'

/**
 * RFC 9110 §13.2.2: evaluates preconditions in their defined order —
 * If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since
 * (GET/HEAD only). A false If-None-Match gives 304 on GET/HEAD, 412 otherwise.
 */
export function evaluatePreconditions(input: PreconditionInput): PreconditionOutcome {
  const method = input.method.toUpperCase()
  const safe = method === 'GET' || method === 'HEAD'
  if (input.ifMatch !== undefined) {
    // §13.1.1: strong comparison.
    if (!passesIfMatch(input.ifMatch, input.etag)) return 'precondition-failed'
  } else if (input.ifUnmodifiedSince !== undefined) {
    // §13.1.4: ignored when not a valid HTTP-date or when no modification date is known.
    const since = parseHttpDate(joined(input.ifUnmodifiedSince) ?? '')
    if (since !== undefined && input.lastModified !== undefined) {
      if (Math.floor(input.lastModified / 1000) > Math.floor(since / 1000)) return 'precondition-failed'
    }
  }
  if (input.ifNoneMatch !== undefined) {
    if (matchesIfNoneMatch(input.ifNoneMatch, input.etag))
      return safe ? 'not-modified' : 'precondition-failed'
    return 'proceed'
  }
  if (safe && notModifiedSince(input.ifModifiedSince, input.lastModified, method)) return 'not-modified'
  return 'proceed'
}
